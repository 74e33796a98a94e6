//go:build !(js && wasm)

package browser_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

// TestAbort: every async call takes { signal }; an abort rejects at once
// with name AbortError and code "aborted" and cancels the token POST in
// Go (the browser ends the connection), unless another caller still
// waits for that flight.
func TestAbort(t *testing.T) {
	chromium, dist := prerequisites(t)
	p := &heldProvider{demo: demoprovider.New(demoprovider.Options{ClientSecret: tabsSecret}), dropped: make(chan struct{}, 8)}
	demo := serve(t, p)
	url := serve(t, devserver.Handler(dist)) + "/web/"
	tab := harness.NewTab(t, chromium)
	tab.WaitLoaded(url)
	o, _ := json.Marshal(map[string]any{"provider": "aluma", "tokenURL": demo + demoprovider.Path("aluma"),
		"clientId": demoprovider.DefaultClientID, "clientSecret": tabsSecret})
	opts := string(o)
	// run evaluates body inside an async function with th, opts and
	// outcome(promise) (what a promise settles to, as text) in scope.
	run := func(body string) string {
		return harness.Eval[string](tab, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			const opts = %s;
			const outcome = (p) => p.then((v) => "ok:" + (v.access_token ?? v.status), (e) => e.name + "/" + e.code);
			%s
		})()`, opts, body))
	}
	expectDropped := func(t *testing.T) {
		t.Helper()
		select {
		case <-p.dropped:
		case <-time.After(5 * time.Second):
			t.Error("the held token POST was not canceled")
		}
	}

	t.Run("requestToken", func(t *testing.T) {
		let := p.hold()
		defer let()
		before := p.arrived.Load()
		got := run(`const ac = new AbortController();
			const r = outcome(th.requestToken(opts, { signal: ac.signal }));
			await new Promise((r) => setTimeout(r, 300)); // the POST is held at the provider by now
			const t0 = performance.now(); ac.abort();
			// "At once": well before the held POST could answer (it is held
			// until the test lets it go), with room for a loaded 2-core machine.
			const res = await r; return res + " " + (performance.now() - t0 < 2000);`)
		if got != "AbortError/aborted true" {
			t.Errorf("got %q, want AbortError/aborted at once", got)
		}
		if p.arrived.Load() != before+1 {
			t.Errorf("%d POSTs, want 1", p.arrived.Load()-before)
		}
		expectDropped(t)
	})

	t.Run("requestToken, already aborted: no request", func(t *testing.T) {
		before := p.arrived.Load()
		if got := run(`return outcome(th.requestToken(opts, { signal: AbortSignal.abort() }));`); got != "AbortError/aborted" {
			t.Errorf("got %q", got)
		}
		if p.arrived.Load() != before {
			t.Error("a request was sent for an aborted call")
		}
	})

	t.Run("getToken: one waiter aborts, the other gets the token", func(t *testing.T) {
		let := p.hold()
		before := p.arrived.Load()
		harness.Eval[bool](tab, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			window.s1 = th.createTokenSource({ ...%s, shareAcrossTabs: false });
			window.ac1 = new AbortController();
			window.w1 = window.s1.getToken({ signal: window.ac1.signal }).then((v) => "ok", (e) => e.name + "/" + e.code);
			window.w2 = window.s1.getToken().then((v) => "ok:" + v.access_token.length, (e) => e.name + "/" + e.code);
			return true; })()`, opts))
		p.waitArrived(t, before+1)
		if got := harness.Eval[string](tab, `(window.ac1.abort(), window.w1)`); got != "AbortError/aborted" {
			t.Errorf("aborted waiter: %q", got)
		}
		let()
		if got := harness.Eval[string](tab, `window.w2`); !strings.HasPrefix(got, "ok:") {
			t.Errorf("other waiter: %q, want the token", got)
		}
		if n := p.arrived.Load() - before; n != 1 {
			t.Errorf("%d POSTs, want 1", n)
		}
	})

	t.Run("getToken: the last waiter aborts, the POST is canceled", func(t *testing.T) {
		let := p.hold()
		defer let()
		before := p.arrived.Load()
		harness.Eval[bool](tab, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			window.s2 = th.createTokenSource({ ...%s, scope: "other" });
			window.ac2 = new AbortController();
			window.w3 = window.s2.getToken({ signal: window.ac2.signal }).then((v) => "ok", (e) => e.name + "/" + e.code);
			return true; })()`, opts))
		p.waitArrived(t, before+1)
		if got := harness.Eval[string](tab, `(window.ac2.abort(), window.w3)`); got != "AbortError/aborted" {
			t.Errorf("got %q", got)
		}
		expectDropped(t)
	})

	t.Run("source.fetch", func(t *testing.T) {
		got := run(`const src = th.createTokenSource(opts);
			await src.getToken();
			const ac = new AbortController();
			const r = outcome(src.fetch("` + demo + `/_demo/stats", { signal: ac.signal }));
			ac.abort();
			const pre = await outcome(src.fetch("` + demo + `/_demo/stats", { signal: AbortSignal.abort() }));
			return (await r) + " " + pre;`)
		if got != "AbortError/aborted AbortError/aborted" {
			t.Errorf("got %q", got)
		}
	})
}
