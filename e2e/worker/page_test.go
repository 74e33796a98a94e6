//go:build unix

package workere2e_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestPageThroughWorker: the static page (dist/web), in headless Chromium,
// obtains a token through the worker in workerd in its { worker } mode:
// the secret is only in the worker's settings, never in the page, its
// console or any URL. The same page served from another origin is refused.
func TestPageThroughWorker(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	other := httptest.NewServer(devserver.Handler(dist)) // another port: another origin
	defer other.Close()
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL,
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	b := harness.NewTab(t, chromium)

	getToken := func(pageURL string) (ok bool, shown string) {
		b.Run(30*time.Second,
			chromedp.Navigate(pageURL+"/web/"),
			chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "true"`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
			chromedp.Click(chromedp.ID("mode-worker")),
			chromedp.SetValue(chromedp.ID("worker-url"), w.URL+"/token"),
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
		)
		ok = harness.Eval[bool](b, `!document.getElementById("result").hidden`)
		return ok, harness.Eval[string](b, `document.body.innerText`)
	}

	ok, shown := getToken(page.URL)
	if !ok {
		t.Fatalf("allowed page: no token shown:\n%s\nconsole:\n%s", shown, text(b.Console()))
	}
	if tok := harness.Eval[string](b, `document.getElementById("access-token").textContent`); strings.Count(tok, ".") != 2 {
		t.Errorf("access token shown: got %q, want the demo provider's JWT", tok)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
	ok, shown = getToken(other.URL)
	if ok {
		t.Errorf("page from another origin got a token:\n%s", shown)
	}
	everything := harness.Eval[string](b, `[document.documentElement.outerHTML, document.body.innerText,
		[...document.querySelectorAll("input, textarea, select")].map((e) => e.value).join("\n"),
		JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie].join("\n")`)
	for where, text := range map[string]string{"the page": everything, "the console": text(b.Console()), "a URL": text(b.URLs())} {
		if strings.Contains(text, secret) {
			t.Errorf("the client secret is in %s", where)
		}
	}
}

// browserPrereqs returns Chromium and dist/ with the page built in it,
// skipping (failing under TOKENHELPER_E2E) when either is missing.
func browserPrereqs(t *testing.T) (chromium, dist string) {
	t.Helper()
	chromium, dist = harness.Chromium(t), harness.Dist()
	harness.Require(t, "browser", harness.MissingFiles(dist, "(./build.sh build)",
		"web/index.html", "web/tokenhelper.mjs", "web/tokenhelper.wasm")...)
	return chromium, dist
}

// text joins lines for searching and printing.
func text(lines []string) string { return strings.Join(lines, "\n") }
