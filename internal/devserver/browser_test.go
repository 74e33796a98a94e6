//go:build !(js && wasm)

package devserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The end-to-end tests drive Debian's chromium (CHROMIUM, else chromium in
// PATH) against the built dist/ and an in-process demo provider, all on
// 127.0.0.1. Without TOKENHELPER_E2E they skip when a prerequisite is
// missing; with TOKENHELPER_E2E=1 (set by ./build.sh test) they fail.

// root is the module root, two levels above this package.
var root, _ = filepath.Abs(filepath.Join("..", ".."))

// prerequisites returns the chromium binary and the dist directory, or
// skips (fails under TOKENHELPER_E2E) when one is missing.
func prerequisites(t *testing.T) (chromium, dist string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("TOKENHELPER_E2E") != "" {
			t.Fatalf("TOKENHELPER_E2E is set but "+format, args...)
		}
		t.Skipf("skipping the Chromium test: "+format+" (set TOKENHELPER_E2E=1 to make this a failure)", args...)
	}
	if testing.Short() && os.Getenv("TOKENHELPER_E2E") == "" {
		t.Skip("skipping the Chromium test in -short mode")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing("no chromium (set CHROMIUM or apt-get install chromium)")
	} else if _, err := os.Stat(chromium); err != nil {
		missing("CHROMIUM=%s: %v", chromium, err)
	}
	dist = filepath.Join(root, "dist")
	for _, f := range []string{"web/index.html", "web/tokenhelper.wasm", "browser-test/compat.html", "browser-test/jwt-decode.mjs"} {
		if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
			missing("dist/%s is missing (run ./build.sh build)", f)
		}
	}
	return chromium, dist
}

// serve starts an httptest server for h on 127.0.0.1, closed at cleanup.
func serve(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// browser is one headless Chromium tab that records what must never hold
// a secret: console output (with exceptions and the browser log) and the
// URL of every request and navigation.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string
	urls    []string
}

func newBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first Run starts the browser; it must not have a timeout.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("starting %s: %v", chromium, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("starting %s: no answer in 60 s", chromium)
	}
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatal(err)
	}
	return b
}

// record keeps console text and URLs; it runs on the event loop of the tab.
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		b.console = append(b.console, string(ev.Type)+": "+strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.console = append(b.console, "exception: "+text)
	case *log.EventEntryAdded:
		b.console = append(b.console, "log "+string(ev.Entry.Level)+": "+ev.Entry.Text+" "+ev.Entry.URL)
	case *network.EventRequestWillBeSent:
		b.urls = append(b.urls, ev.Request.URL+ev.Request.URLFragment, ev.DocumentURL)
	case *page.EventFrameNavigated:
		b.urls = append(b.urls, ev.Frame.URL+ev.Frame.URLFragment)
	case *page.EventNavigatedWithinDocument:
		b.urls = append(b.urls, ev.URL)
	}
}

// run runs the actions with a timeout.
func (b *browser) run(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("chromedp: %v\nconsole:\n%s", err, strings.Join(b.consoleLines(), "\n"))
	}
}

// eval evaluates a JS expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

func (b *browser) consoleLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

func (b *browser) seenURLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// screenshot saves a full-page PNG under dist/test-artifacts.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(root, "dist", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// waitLoaded navigates to url and waits until the page's load() resolved.
func (b *browser) waitLoaded(url string) {
	b.t.Helper()
	b.run(30*time.Second,
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "true"`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
	)
}
