//go:build unix

package workere2e_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// netCapture records, through the DevTools protocol, every request a tab
// sends and every response it receives (headers as parsed and raw), so
// that a test can search all of it for a secret; bodies are fetched at
// the end with Network.getResponseBody.
type netCapture struct {
	mu      sync.Mutex
	entries map[network.RequestID]*netEntry
	order   []network.RequestID
}

// netEntry is one request with its response.
type netEntry struct {
	id       network.RequestID
	method   string
	url      string
	resType  network.ResourceType
	status   int64
	text     strings.Builder // request and response headers, one per line
	finished bool
	failed   string
	body     []byte // from Network.getResponseBody, once finished
	paused   []byte // from Fetch.getResponseBody, at the response stage
}

// captureNetwork starts recording the tab's network traffic. Every
// response is also paused at the response stage (the Fetch domain) to
// read its body whole before the page sees it: Network.getResponseBody
// only has the bodies of loads that finished, and a page that cancels a
// body it stopped reading (the module's fetch transport does, once the
// JSON is decoded) leaves none there.
func captureNetwork(t *testing.T, b *harness.Tab) *netCapture {
	t.Helper()
	n := &netCapture{entries: map[network.RequestID]*netEntry{}}
	if err := chromedp.Listen(b.Ctx, n.event); err != nil {
		t.Fatal(err)
	}
	paused := chromedp.Events(b.Ctx, fetch.RequestPaused) // subscribed before Fetch.enable
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageResponse}},
		})
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			n.takeBody(b.Ctx, ev)
		}
	}()
	return n
}

// takeBody reads the body of a paused response and lets it go on. It runs
// on its own goroutine (never in chromedp's reading loop) and ends with
// the tab.
func (n *netCapture) takeBody(ctx context.Context, ev fetch.EventRequestPaused) {
	body, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, tg, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
		return res.Body, err
	})
	id := ev.NetworkID
	if id == "" {
		id = network.RequestID("fetch-" + string(ev.RequestID))
	}
	n.mu.Lock()
	e := n.entry(id)
	if e.url == "" && ev.Request != nil {
		e.method, e.url = ev.Request.Method, ev.Request.URL
	}
	if err == nil {
		e.paused = body
	}
	for _, h := range ev.ResponseHeaders {
		e.text.WriteString("< " + h.Name + ": " + h.Value + "\n")
	}
	n.mu.Unlock()
	chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
	})
}

// entry returns the record of id, creating it. Call with n.mu held.
func (n *netCapture) entry(id network.RequestID) *netEntry {
	e := n.entries[id]
	if e == nil {
		e = &netEntry{id: id}
		n.entries[id] = e
		n.order = append(n.order, id)
	}
	return e
}

func headerLines(b *strings.Builder, prefix string, h network.Headers) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString(prefix + k + ": " + fmt.Sprint(h[k]) + "\n")
	}
}

// event runs in chromedp's reading loop: record and return.
func (n *netCapture) event(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		e := n.entry(ev.RequestID)
		e.method, e.url, e.resType = ev.Request.Method, ev.Request.URL, ev.Type
		e.text.WriteString("> " + ev.Request.Method + " " + ev.Request.URL + ev.Request.URLFragment + "\n")
		headerLines(&e.text, "> ", ev.Request.Headers)
		if ev.RedirectResponse != nil {
			headerLines(&e.text, "< ", ev.RedirectResponse.Headers)
		}
	case *network.EventRequestWillBeSentExtraInfo:
		headerLines(&n.entry(ev.RequestID).text, "> ", ev.Headers)
	case *network.EventResponseReceived:
		e := n.entry(ev.RequestID)
		e.status = ev.Response.Status
		if e.resType == "" {
			e.resType = ev.Type
		}
		headerLines(&e.text, "< ", ev.Response.Headers)
	case *network.EventResponseReceivedExtraInfo:
		e := n.entry(ev.RequestID)
		headerLines(&e.text, "< ", ev.Headers)
		e.text.WriteString(ev.HeadersText)
	case *network.EventLoadingFinished:
		n.entry(ev.RequestID).finished = true
	case *network.EventLoadingFailed:
		n.entry(ev.RequestID).failed = ev.ErrorText
	}
}

// fetchBodies reads the body of every finished response still held by
// the browser, besides the one read when it was paused. A response
// without a body (a preflight, a 204) may have none; any other without
// either fails the test, so that the search is never silently partial.
func (n *netCapture) fetchBodies(t *testing.T, b *harness.Tab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	for _, e := range n.list() {
		n.mu.Lock()
		finished := e.finished
		n.mu.Unlock()
		if !finished {
			continue
		}
		res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetResponseBodyResult, error) {
			return cdp.Call(ctx, tg, network.GetResponseBody, network.GetResponseBodyParams{RequestID: e.id})
		})
		n.mu.Lock()
		if err == nil {
			e.body = res.Body
		}
		n.mu.Unlock()
	}
	for _, e := range n.list() {
		n.mu.Lock()
		missing := e.status != 0 && e.status != 204 && e.method != "OPTIONS" && e.resType != network.ResourceTypePreflight &&
			len(e.body) == 0 && len(e.paused) == 0
		what := e.method + " " + e.url + " (" + strconv.FormatInt(e.status, 10) + ")"
		n.mu.Unlock()
		if missing {
			t.Errorf("no body captured for %s: the search would miss it", what)
		}
	}
}

// headers returns what was recorded of e's request line and headers.
func (n *netCapture) headers(e *netEntry) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return e.text.String()
}

// list returns the entries in the order the requests started.
func (n *netCapture) list() []*netEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*netEntry, 0, len(n.order))
	for _, id := range n.order {
		out = append(out, n.entries[id])
	}
	return out
}

// requests returns the requests with this method to this URL (without
// the query) that got a response.
func (n *netCapture) requests(method, u string) []*netEntry {
	var out []*netEntry
	for _, e := range n.list() {
		n.mu.Lock()
		base, _, _ := strings.Cut(e.url, "?")
		ok := e.method == method && base == u && e.status != 0
		n.mu.Unlock()
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// search returns where needle occurs in everything recorded: URLs,
// headers and bodies.
func (n *netCapture) search(needle string) []string {
	var where []string
	for _, e := range n.list() {
		n.mu.Lock()
		if strings.Contains(e.text.String(), needle) {
			where = append(where, "headers or URL of "+e.method+" "+e.url)
		}
		if strings.Contains(string(e.body), needle) || strings.Contains(string(e.paused), needle) {
			where = append(where, "body of "+e.method+" "+e.url)
		}
		n.mu.Unlock()
	}
	return where
}

// summary is one line per request, for failure messages.
func (n *netCapture) summary() string {
	var b strings.Builder
	for _, e := range n.list() {
		n.mu.Lock()
		b.WriteString(e.method + " " + e.url + " -> " + strconv.FormatInt(e.status, 10) + " " + string(e.resType) + " " + e.failed + "\n")
		n.mu.Unlock()
	}
	return b.String()
}

// tokenForms are the ways a JWT could show up if it leaked: whole, its
// signature alone (enough to prove possession of that exact token), its
// payload, and the whole token percent- or base64-encoded. The header
// is left out: it is the same for every token of one key.
func tokenForms(tok string) []string {
	forms := []string{tok, url.QueryEscape(tok), base64.StdEncoding.EncodeToString([]byte(tok)),
		base64.RawURLEncoding.EncodeToString([]byte(tok))}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		forms = append(forms, parts[1], parts[2])
	}
	return forms
}
