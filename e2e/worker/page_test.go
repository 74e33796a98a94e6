//go:build unix

package workere2e_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
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
	// A worker without ROUTES lists none: the page offers its /token.
	// (Worker mode may have filled in the base from the worker URL: cleared.)
	harness.Eval[bool](b, `(document.getElementById("worker-url").value = document.getElementById("worker-base").value = "") === ""`)
	b.Run(20*time.Second,
		chromedp.SendKeys(chromedp.ID("worker-base"), w.URL),
		chromedp.Click(chromedp.ID("list-routes")),
		chromedp.Poll[chromedp.Void](routesAnswered, chromedp.WithPollingTimeout(15*time.Second)),
	)
	if got := harness.Eval[string](b, `document.getElementById("routes-status").textContent`); !strings.HasPrefix(got, "This worker has no routes") {
		t.Errorf("a worker without routes: the route status says %q", got)
	}
	if got := harness.Eval[string](b, `document.getElementById("worker-url").value`); got != w.URL+"/token" {
		t.Errorf("a worker without routes: the token URL filled in is %q, want %s/token", got, w.URL)
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

// TestPageWorkerRoutes: in worker mode the page lists the routes of a
// worker with ROUTES=ripple,wave (GET /routes) and offers them; choosing
// one fills in <base>/<route>/token, and the token comes from that route:
// Wave's provider token from wave (mode pass), a token minted by
// <base>/ripple from ripple (mode mint). A page from an origin the worker
// does not allow is not given the list.
func TestPageWorkerRoutes(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	api := httptest.NewServer(&demoapi.API{})
	defer api.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	other := httptest.NewServer(devserver.Handler(dist))
	defer other.Close()
	_, signingKey := testkeys.Ed25519(t)
	vars := env{
		worker.VarRoutes:         "ripple,wave",
		worker.VarAllowedOrigins: page.URL,
		worker.VarSigningKey:     dotenvQuoted(signingKey),
		worker.VarClientID:       demoprovider.DefaultClientID,
		"RIPPLE_CLIENT_SECRET":   secret, "WAVE_CLIENT_SECRET": secret,
		"RIPPLE_TOKEN_PROVIDER": "alphaus-ripple", "RIPPLE_TOKEN_URL": provider.URL + demoprovider.Path("alphaus-ripple"),
		"RIPPLE_MODE": "mint", "RIPPLE_UPSTREAM_API_URL": api.URL + "/v1",
		"WAVE_TOKEN_PROVIDER": "alphaus-wave", "WAVE_TOKEN_URL": provider.URL + demoprovider.Path("alphaus-wave"),
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	b := harness.NewTab(t, chromium)

	// listed opens the page from origin in worker mode, asks for the
	// worker's routes and returns what the route status then says.
	listed := func(origin string) string {
		b.WaitLoaded(origin + "/web/")
		b.Run(20*time.Second,
			chromedp.Click(chromedp.ID("mode-worker")),
			chromedp.SendKeys(chromedp.ID("worker-base"), w.URL+"\r"),
			chromedp.Poll[chromedp.Void](routesAnswered, chromedp.WithPollingTimeout(15*time.Second)),
		)
		return harness.Eval[string](b, `document.getElementById("routes-status").textContent`)
	}
	if got := listed(page.URL); !strings.HasPrefix(got, "2 routes: ripple, wave.") {
		t.Fatalf("route status %q, want 2 routes: ripple, wave\nconsole:\n%s", got, text(b.Console()))
	}
	if got := harness.Eval[string](b, `[...document.getElementById("worker-route").options].map((o) => o.value + "=" + o.text).join("\n")`); !strings.Contains(got, "ripple=ripple (mint") || !strings.Contains(got, "wave=wave (pass") {
		t.Errorf("the route picker offers:\n%s\nwant ripple (mint…) and wave (pass…)", got)
	}
	claimsFrom := func(route string) map[string]any {
		t.Helper()
		harness.Eval[bool](b, fmt.Sprintf(`(() => { const el = document.getElementById("worker-route"); el.value = %q;
			el.dispatchEvent(new Event("change", { bubbles: true })); return true })()`, route))
		if got := harness.Eval[string](b, `document.getElementById("worker-url").value`); got != w.URL+"/"+route+"/token" {
			t.Errorf("choosing %s filled in %q, want %s/%s/token", route, got, w.URL, route)
		}
		b.Run(30*time.Second,
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)))
		if !harness.Eval[bool](b, `!document.getElementById("result").hidden`) {
			t.Fatalf("%s: no token: %s", route, harness.Eval[string](b, `document.getElementById("error").innerText`))
		}
		var claims map[string]any
		if err := json.Unmarshal([]byte(harness.Eval[string](b, `document.getElementById("access-claims").textContent`)), &claims); err != nil {
			t.Fatalf("%s: claims: %v", route, err)
		}
		return claims
	}
	if c := claimsFrom("wave"); c["provider"] != "alphaus-wave" {
		t.Errorf("the wave route handed out a token with claims %v, want Wave's provider token", c)
	}
	if c := claimsFrom("ripple"); c["iss"] != w.URL+"/ripple" {
		t.Errorf("the ripple route handed out a token with claims %v, want one minted by %s/ripple", c, w.URL)
	}
	b.Screenshot("worker-routes")
	if got := listed(other.URL); !strings.Contains(got, "ALLOWED_ORIGINS") {
		t.Errorf("a page from another origin: route status %q, want a word about ALLOWED_ORIGINS", got)
	}
	if harness.Eval[bool](b, `!document.getElementById("route-field").hidden`) {
		t.Error("a page from another origin was offered routes")
	}
}

// routesAnswered is true once the page's route listing has an outcome.
const routesAnswered = `(() => { const s = document.getElementById("routes-status").textContent; return s !== "" && !s.startsWith("Asking") })()`

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
