//go:build !(js && wasm)

package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/fingerprint"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

const (
	tabsSecret   = "tabs-client-secret-of-some-length"
	tabsPassword = "tabs-user-password-of-some-length"
)

// recordChannels keeps every BroadcastChannel message a page posts, as
// JSON, in window.__bc, so that the test can search them for secrets.
const recordChannels = `window.__bc = [];
(() => {
  const post = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (m) { window.__bc.push(JSON.stringify(m)); return post.call(this, m); };
})();`

// heldProvider is the demo provider behind a counter of the token POSTs
// that reach it, able to hold the next one until released or until the
// client goes away (a tab closed, a fetch aborted).
type heldProvider struct {
	demo     *demoprovider.Server
	arrived  atomic.Int32
	holdNext atomic.Bool
	release  chan struct{}
	dropped  chan struct{} // a held request whose client went away
}

func (p *heldProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "token") {
		p.arrived.Add(1)
		// Read the body first: only then does the server watch the
		// connection, so that r.Context() ends when the client goes away.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if p.holdNext.CompareAndSwap(true, false) {
			select {
			case <-p.release:
			case <-r.Context().Done():
				p.dropped <- struct{}{}
				return
			}
		}
	}
	p.demo.ServeHTTP(w, r)
}

// hold makes the next POST wait; the returned function lets it go.
func (p *heldProvider) hold() func() {
	p.release = make(chan struct{})
	p.holdNext.Store(true)
	return func() { close(p.release) }
}

func (p *heldProvider) waitArrived(t *testing.T, n int32) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); p.arrived.Load() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d token POSTs arrived, want %d", p.arrived.Load(), n)
		}
	}
}

// openTab opens another tab of first's browser (same profile, so same
// Web Locks and BroadcastChannels for the origin) at url; its context
// ends (the tab closes) with cancel.
func openTab(t *testing.T, first *harness.Tab, url string) (*harness.Tab, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(first.Ctx)
	t.Cleanup(cancel)
	tab := &harness.Tab{T: t, Ctx: ctx}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordChannels}); err != nil {
		t.Fatal(err)
	}
	tab.WaitLoaded(url)
	return tab, cancel
}

// startToken creates window[name], a source for opts, in tab and starts
// getToken on it without waiting: window[name+"Got"] resolves to the
// access token or "error:<code>".
func startToken(tab *harness.Tab, name, opts string) {
	harness.Eval[bool](tab, fmt.Sprintf(`(async () => {
		const th = await (await import("/web/tokenhelper.mjs")).load();
		window[%[1]q] = window[%[1]q] || th.createTokenSource(%[2]s);
		window[%[1]q + "Got"] = window[%[1]q].getToken().then((t) => t.access_token, (e) => "error:" + e.code + " " + e.message);
		return true;
	})()`, name, opts))
}

func gotToken(tab *harness.Tab, name string) string {
	return harness.Eval[string](tab, fmt.Sprintf(`window[%q + "Got"]`, name))
}

// TestTabsShareOneRequest: sources with the same options in several tabs
// of one origin make one token request among them (Web Locks elect the
// tab that asks, a BroadcastChannel hands its token to the others); a tab
// opened later takes the held token; when the asking tab closes during
// its request, another takes over; invalidate() in one tab drops the
// token in all; shareAcrossTabs: false makes one request per tab; and no
// message and no storage holds the secret or the password.
func TestTabsShareOneRequest(t *testing.T) {
	chromium, dist := prerequisites(t)
	p := &heldProvider{demo: demoprovider.New(demoprovider.Options{ClientSecret: tabsSecret, Password: tabsPassword}), dropped: make(chan struct{}, 8)}
	demo := serve(t, p)
	url := serve(t, devserver.Handler(dist)) + "/web/"
	o, _ := json.Marshal(map[string]string{"provider": "alphaus-ripple", "tokenURL": demo + demoprovider.Path("alphaus-ripple"),
		"grantType": "password", "clientId": demoprovider.DefaultClientID, "clientSecret": tabsSecret,
		"username": demoprovider.DefaultUsername, "password": tabsPassword})
	opts := string(o)

	first := harness.NewTab(t, chromium)
	if _, err := chromedp.Call(first.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordChannels}); err != nil {
		t.Fatal(err)
	}
	first.WaitLoaded(url)
	tabs := []*harness.Tab{first}
	closers := []context.CancelFunc{func() {}}
	for range 3 {
		tab, cancel := openTab(t, first, url)
		tabs = append(tabs, tab)
		closers = append(closers, cancel)
	}
	if !harness.Eval[bool](first, `typeof navigator.locks?.request === "function" && typeof BroadcastChannel === "function"`) {
		t.Fatal("this Chromium has no Web Locks or no BroadcastChannel on a loopback origin")
	}
	var messages []string
	collect := func(tab *harness.Tab) {
		messages = append(messages, harness.Eval[[]string](tab, `window.__bc`)...)
	}

	var shared string
	t.Run("4 tabs at once, 1 request", func(t *testing.T) {
		let := p.hold()
		for _, tab := range tabs {
			startToken(tab, "src", opts)
		}
		p.waitArrived(t, 1)
		time.Sleep(time.Second) // room for any other tab to send its own
		let()
		for i, tab := range tabs {
			got := gotToken(tab, "src")
			if i == 0 {
				shared = got
			}
			if strings.HasPrefix(got, "error:") || got != shared {
				t.Errorf("tab %d got %.40q, want the same token as tab 0 (%.40q)", i, got, shared)
			}
		}
		t.Logf("4 tabs: %d token POSTs, demo provider counted %d", p.arrived.Load(), p.demo.Count())
		if n := p.arrived.Load(); n != 1 {
			t.Errorf("4 tabs made %d token requests, want 1", n)
		}
	})

	t.Run("a 5th tab later, 0 more", func(t *testing.T) {
		tab, _ := openTab(t, first, url)
		startToken(tab, "src", opts)
		if got := gotToken(tab, "src"); got != shared {
			t.Errorf("5th tab got %.40q, want the held token", got)
		}
		if n := p.arrived.Load(); n != 1 {
			t.Errorf("%d token requests after the 5th tab, want still 1", n)
		}
		collect(tab)
	})

	t.Run("invalidate in one tab, asking tab closed mid-request", func(t *testing.T) {
		before := p.arrived.Load()
		harness.Eval[bool](tabs[1], `(window.src.invalidate(), true)`)
		let := p.hold()
		defer let()
		startToken(tabs[1], "src", opts) // tabs[1] asks and is held
		p.waitArrived(t, before+1)
		for _, tab := range tabs[2:] {
			startToken(tab, "src", opts) // wait for its lock: they had their token dropped too
		}
		collect(tabs[1])
		closed := time.Now()
		closers[1]()
		for i, tab := range tabs[2:] {
			got := gotToken(tab, "src")
			if strings.HasPrefix(got, "error:") || got == shared {
				t.Errorf("tab %d got %.60q, want a new token", i+2, got)
			}
		}
		took := time.Since(closed)
		t.Logf("after the asking tab closed, the others had a token in %v (%d POSTs in all)", took.Round(time.Millisecond), p.arrived.Load()-before)
		if took > 10*time.Second {
			t.Errorf("took %v, want under 10 s", took)
		}
		select {
		case <-p.dropped:
		case <-time.After(5 * time.Second):
			t.Error("the closed tab's request is still open at the provider")
		}
		if n := p.arrived.Load() - before; n != 2 {
			t.Errorf("%d POSTs, want 2 (the closed tab's, one after it)", n)
		}
	})
	live := []*harness.Tab{tabs[0], tabs[2], tabs[3]}

	t.Run("shareAcrossTabs false, one request per tab", func(t *testing.T) {
		before := p.arrived.Load()
		var unshared map[string]any
		json.Unmarshal([]byte(opts), &unshared)
		unshared["shareAcrossTabs"] = false
		u, _ := json.Marshal(unshared)
		for _, tab := range live {
			startToken(tab, "alone", string(u))
		}
		for _, tab := range live {
			if got := gotToken(tab, "alone"); strings.HasPrefix(got, "error:") {
				t.Errorf("got %s", got)
			}
		}
		if n := p.arrived.Load() - before; n != int32(len(live)) {
			t.Errorf("%d tabs made %d requests, want one each", len(live), n)
		}
	})

	t.Run("no secret in messages or storage", func(t *testing.T) {
		for _, tab := range live {
			collect(tab)
			storage := harness.Eval[string](tab, `(async () => JSON.stringify({
				local: { ...localStorage }, session: { ...sessionStorage },
				idb: (await indexedDB.databases()).map((d) => d.name),
				cookie: document.cookie }))()`)
			if storage != `{"local":{},"session":{},"idb":[],"cookie":""}` {
				t.Errorf("storage holds %s", storage)
			}
		}
		if len(messages) < 3 {
			t.Fatalf("only %d BroadcastChannel messages recorded: the wrapper does not see them", len(messages))
		}
		hits := 0
		for _, m := range messages {
			for _, s := range []string{tabsSecret, tabsPassword, "refresh_token", "id_token"} {
				if strings.Contains(m, s) {
					hits++
					t.Errorf("a BroadcastChannel message holds %q: %.200s", s, m)
				}
			}
		}
		t.Logf("%d BroadcastChannel messages searched, %d hits", len(messages), hits)
	})
}

// TestTabsWrongSecretGetsNoToken: a source given a wrong client secret,
// in another tab or in the same one, neither receives the token the right
// secret obtained (it asks the provider itself, which refuses it) nor
// replaces it; a tab with the right secret still shares it. The Web Lock
// names carry Go's fingerprint.Slow(cfg, 2000), no message and no lock
// name the secrets.
func TestTabsWrongSecretGetsNoToken(t *testing.T) {
	chromium, dist := prerequisites(t)
	p := &heldProvider{demo: demoprovider.New(demoprovider.Options{ClientSecret: tabsSecret}), dropped: make(chan struct{}, 8)}
	demo := serve(t, p)
	url := serve(t, devserver.Handler(dist)) + "/web/"
	const wrongSecret = "tabs-WRONG-secret-of-some-length"
	cfg := tokenhelper.Config{Provider: "alphaus-ripple", TokenURL: demo + demoprovider.Path("alphaus-ripple"),
		ClientID: demoprovider.DefaultClientID, ClientSecret: tabsSecret}
	options := func(secret string) string {
		o, _ := json.Marshal(map[string]string{"provider": cfg.Provider, "tokenURL": cfg.TokenURL,
			"clientId": cfg.ClientID, "clientSecret": secret})
		return string(o)
	}

	first := harness.NewTab(t, chromium)
	if _, err := chromedp.Call(first.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordChannels}); err != nil {
		t.Fatal(err)
	}
	first.WaitLoaded(url)
	second, _ := openTab(t, first, url)
	third, _ := openTab(t, first, url)

	startToken(first, "right", options(tabsSecret))
	right := gotToken(first, "right")
	if strings.HasPrefix(right, "error:") {
		t.Fatalf("the right secret got %s", right)
	}
	for _, c := range []struct {
		name string
		tab  *harness.Tab
	}{{"another tab", second}, {"the same tab", first}} {
		t.Run(c.name, func(t *testing.T) {
			before := p.arrived.Load()
			startToken(c.tab, "wrong", options(wrongSecret))
			got := gotToken(c.tab, "wrong")
			if got == right {
				t.Fatalf("a wrong secret got the right secret's token")
			}
			if !strings.HasPrefix(got, "error:invalid_client") {
				t.Errorf("a wrong secret got %.60q, want error:invalid_client from the provider", got)
			}
			if n := p.arrived.Load() - before; n != 1 {
				t.Errorf("a wrong secret made %d token requests, want 1 (its own, refused)", n)
			}
		})
	}
	t.Run("the right secret in a third tab still shares", func(t *testing.T) {
		before := p.arrived.Load()
		startToken(third, "right", options(tabsSecret))
		if got := gotToken(third, "right"); got != right {
			t.Errorf("third tab got %.60q, want the shared token", got)
		}
		if n := p.arrived.Load() - before; n != 0 {
			t.Errorf("%d token requests, want 0", n)
		}
		startToken(first, "right2", options(tabsSecret))
		if got := gotToken(first, "right2"); got != right {
			t.Errorf("after the wrong secret's failure the right one got %.60q, want the shared token", got)
		}
	})

	t.Run("names carry the fingerprint, nothing carries a secret", func(t *testing.T) {
		want := "tokenhelper:" + tokenhelper.CacheKey(cfg) + "-" + fingerprint.Slow(cfg, 2000)
		locks := harness.Eval[string](first, `navigator.locks.query().then((q) => JSON.stringify(q))`)
		if !strings.Contains(locks, want) {
			t.Errorf("no Web Lock named %s in %s", want, locks)
		}
		var sent []string
		for _, tab := range []*harness.Tab{first, second, third} {
			sent = append(sent, harness.Eval[[]string](tab, `window.__bc`)...)
		}
		sent = append(sent, locks)
		hits := 0
		for _, m := range sent {
			for _, s := range []string{tabsSecret, wrongSecret} {
				if strings.Contains(m, s) {
					hits++
					t.Errorf("a message or lock name holds a secret: %.200s", m)
				}
			}
		}
		t.Logf("%d messages and the lock list searched for 2 secrets: %d hits", len(sent), hits)
	})
}
