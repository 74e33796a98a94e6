package harness

import (
	"context"
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

// Chromium returns Debian's chromium (CHROMIUM, else chromium or
// chromium-browser in PATH), or skips (fails when Strict).
func Chromium(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	p := os.Getenv("CHROMIUM")
	if p == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if found, err := exec.LookPath(name); err == nil {
				p = found
				break
			}
		}
	}
	if p == "" {
		Require(t, "Chromium", "chromium (apt-get install chromium, or set CHROMIUM)")
	} else if _, err := os.Stat(p); err != nil {
		Require(t, "Chromium", "CHROMIUM="+p+": "+err.Error())
	}
	return p
}

// Tab is one headless Chromium (a browser of its own, fresh profile) with
// one tab, recording what must never hold a secret: console output (with
// exceptions and the browser log) and the URL of every request and
// navigation.
type Tab struct {
	// Ctx is the tab's chromedp context, for actions the helpers lack.
	Ctx context.Context
	// T is the test that Run, Eval and Screenshot fail; a subtest may put
	// itself here while it drives the tab.
	T testing.TB

	mu      sync.Mutex
	console []string
	urls    []string
}

// NewTab starts chromium headless with the flags this machine needs (no
// sandbox as root, no background networking) at 1280x1000, stopped when
// the test ends.
func NewTab(t testing.TB, chromium string) *Tab {
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
	b := &Tab{T: t, Ctx: ctx}
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
func (b *Tab) record(ev any) {
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

// Run runs the actions with a timeout, failing the test (with the console
// so far) on error.
func (b *Tab) Run(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("chromedp: %v\nconsole:\n%s", err, strings.Join(b.Console(), "\n"))
	}
}

// Eval evaluates a JS expression (awaiting a promise) into T, failing the
// test on error.
func Eval[T any](b *Tab, expr string) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.T.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

// Console returns the console lines recorded so far.
func (b *Tab) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// URLs returns every request, document and navigation URL seen so far.
func (b *Tab) URLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// Screenshot saves a full-page PNG as dist/test-artifacts/name.png.
func (b *Tab) Screenshot(name string) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(Dist(), "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.T.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.T.Fatal(err)
	}
	b.T.Logf("screenshot: %s", path)
}

// WaitLoaded navigates to url and waits until the page says it is ready
// (document.documentElement.dataset.ready, set by our pages once load()
// resolved).
func (b *Tab) WaitLoaded(url string) {
	b.T.Helper()
	b.Run(30*time.Second,
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "true"`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
	)
}
