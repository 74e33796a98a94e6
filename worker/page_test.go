//go:build unix

package worker_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestPageThroughWorker: the static page (dist/web), in headless Chromium,
// obtains a token through the worker in workerd in its { worker } mode:
// the secret is only in the worker's settings, never in the page, its
// console or any URL. The same page served from another origin is refused.
func TestPageThroughWorker(t *testing.T) {
	wrangler, bundle := e2ePrereqs(t)
	chromium, dist := browserPrereqs(t)
	if testing.Short() {
		t.Skip("end-to-end test; -short")
	}
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
	w := startWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	b := newTab(t, chromium)

	getToken := func(pageURL string) (ok bool, shown string) {
		b.do(t, 30*time.Second,
			chromedp.Navigate(pageURL+"/web/"),
			chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "true"`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
			chromedp.Click(chromedp.ID("mode-worker")),
			chromedp.SetValue(chromedp.ID("worker-url"), w.URL+"/token"),
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
		)
		ok = b.eval(t, `!document.getElementById("result").hidden`) == "true"
		return ok, b.eval(t, `document.body.innerText`)
	}

	ok, shown := getToken(page.URL)
	if !ok {
		t.Fatalf("allowed page: no token shown:\n%s\nconsole:\n%s", shown, b.console())
	}
	if tok := b.eval(t, `document.getElementById("access-token").textContent`); strings.Count(tok, ".") != 2 {
		t.Errorf("access token shown: got %q, want the demo provider's JWT", tok)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
	ok, shown = getToken(other.URL)
	if ok {
		t.Errorf("page from another origin got a token:\n%s", shown)
	}
	everything := b.eval(t, `[document.documentElement.outerHTML, document.body.innerText,
		[...document.querySelectorAll("input, textarea, select")].map((e) => e.value).join("\n"),
		JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie].join("\n")`)
	for where, text := range map[string]string{"the page": everything, "the console": b.console(), "a URL": b.urls()} {
		if strings.Contains(text, secret) {
			t.Errorf("the client secret is in %s", where)
		}
	}
}

// browserPrereqs returns Chromium and dist/, skipping (failing under
// TOKENHELPER_E2E) when either is missing.
func browserPrereqs(t *testing.T) (chromium, dist string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium, _ = exec.LookPath("chromium")
	}
	dist, _ = filepath.Abs(filepath.Join("..", "dist"))
	var missing []string
	if chromium == "" {
		missing = append(missing, "chromium (apt-get install chromium, or set CHROMIUM)")
	}
	for _, f := range []string{"web/index.html", "web/tokenhelper.mjs", "web/tokenhelper.wasm"} {
		if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
			missing = append(missing, "dist/"+f+" (./build.sh build)")
		}
	}
	if len(missing) > 0 {
		msg := "browser prerequisites missing: " + strings.Join(missing, ", ")
		if os.Getenv("TOKENHELPER_E2E") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set TOKENHELPER_E2E=1 to make this a failure)")
	}
	return chromium, dist
}

// tab is one headless Chromium tab recording console output and URLs.
type tab struct {
	ctx context.Context

	mu   sync.Mutex
	logs []string
	seen []string
}

func newTab(t *testing.T, chromium string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &tab{ctx: ctx}
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }() // the first call starts the browser: no timeout on it
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("starting %s: %v", chromium, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("starting %s: no answer in 60 s", chromium)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				b.logs = append(b.logs, string(a.Value)+a.Description)
			}
		case *runtime.EventExceptionThrown:
			b.logs = append(b.logs, ev.ExceptionDetails.Text)
		case *network.EventRequestWillBeSent:
			b.seen = append(b.seen, ev.Request.URL+ev.Request.URLFragment)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *tab) do(t *testing.T, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("chromedp: %v\nconsole:\n%s", err, b.console())
	}
}

// eval returns a JS expression's value as a string.
func (b *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", expr, err)
	}
	if s, ok := v.(string); ok {
		return s
	}
	if bv, ok := v.(bool); ok && bv {
		return "true"
	}
	return "false"
}

func (b *tab) console() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.logs, "\n")
}

func (b *tab) urls() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.seen, "\n")
}
