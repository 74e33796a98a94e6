//go:build !(js && wasm)

package bundlers_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// appTimeout bounds how long an app may take, once navigated to, to show
// a token or an error (Vite's dev server transforms modules on the
// first request).
const appTimeout = 30 * time.Second

// openInChromium opens url in a tab of its own of the shared Chromium,
// with the case's options in window.TOKENHELPER_EXAMPLE (set before the
// app's scripts run, so that the secret is in no URL), waits for the app
// to show a token or an error, and checks the token.
func (e *env) openInChromium(t *testing.T, c appCase, url string) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser.Ctx)
	t.Cleanup(cancel)
	tab := &harness.Tab{T: t, Ctx: ctx}
	var console consoleLog
	if err := chromedp.Listen(ctx, console.record); err != nil {
		t.Fatal(err)
	}
	script := "window.TOKENHELPER_EXAMPLE = " + e.options(c.name) + ";"
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
		t.Fatal(err)
	}
	tab.Run(appTimeout+5*time.Second,
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`document.getElementById("out")?.dataset.state !== undefined`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(appTimeout)),
	)
	got := harness.Eval[appResult](tab, `(() => { const o = document.getElementById("out"); return { state: o.dataset.state, token: o.dataset.token ?? "", text: o.textContent } })()`)
	if got.State != "ok" {
		t.Fatalf("%s: the app shows %q\nconsole:\n%s", c.name, got.Text, console.String())
	}
	claims := e.checkToken(t, c.name, got.Token)
	claims.sameAs(t, got.Text)
}

// appResult is what an app shows in its #out element: its state ("ok"
// or "error"), the access token (data-token) and the text (the token's
// claims as decodeJWT returned them, or the error).
type appResult struct {
	State string `json:"state"`
	Token string `json:"token"`
	Text  string `json:"text"`
}

// consoleLog keeps a tab's console messages and exceptions, for the
// message of a failure.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

// record is the tab's event listener (it runs on the tab's event loop).
func (l *consoleLog) record(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		line = string(ev.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		line = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			line += " " + ev.ExceptionDetails.Exception.Description
		}
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// String returns the lines recorded so far.
func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
