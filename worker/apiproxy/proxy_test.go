package apiproxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/verify"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/worker/apiproxy"
)

type setup struct {
	api      *demoapi.API
	provider *demoprovider.Server
	proxy    *apiproxy.Proxy
	fetches  atomic.Int32
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	s := &setup{provider: demoprovider.New(demoprovider.Options{})}
	ps := httptest.NewServer(s.provider)
	t.Cleanup(ps.Close)
	keys, err := verify.ParseJWKS(s.provider.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	s.api = &demoapi.API{Keys: keys}
	as := httptest.NewServer(s.api)
	t.Cleanup(as.Close)
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		Provider: "aluma", TokenURL: ps.URL + demoprovider.Path("aluma"),
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoprovider.DefaultClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	up, _ := url.Parse(as.URL + "/v1")
	s.proxy = &apiproxy.Proxy{Upstream: up, Transport: nethttp.New(nil), Token: src.Token, Invalidate: src.Invalidate}
	return s
}

func (s *setup) do(t *testing.T, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	s.proxy.ServeHTTP(w, r)
	return w
}

func TestForwardsOnlyWhatItShould(t *testing.T) {
	s := newSetup(t)
	r := httptest.NewRequest("POST", "https://worker.example/api/items/42?x=1&y=%20", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Add("Authorization", "Bearer minted-token-for-the-worker")
	r.Header.Add("Authorization", "Bearer second")
	r.Header.Set("Cookie", "session=browser")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("Forwarded", "for=6.6.6.6")
	r.Header.Set("CF-Connecting-IP", "6.6.6.6")
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Connection", "X-Smuggle")
	r.Header.Set("X-Smuggle", "1")
	r.Host = "evil.example"
	w := s.do(t, r)
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	got := s.api.Received()
	if len(got) != 1 {
		t.Fatalf("API saw %d calls", len(got))
	}
	e := got[0]
	if e.Method != "POST" || e.Path != "/v1/items/42" || e.Query != "x=1&y=%20" || e.Body != `{"a":1}` {
		t.Errorf("API saw %s %s ? %s body %q", e.Method, e.Path, e.Query, e.Body)
	}
	if e.Subject != demoprovider.DefaultClientID {
		t.Errorf("API saw subject %q: not the provider token", e.Subject)
	}
	for name, v := range e.Headers {
		switch name {
		case "Accept", "Content-Type", "Authorization", "Content-Length", "User-Agent", "Accept-Encoding":
		case "Host":
			if strings.Contains(v[0], "evil") {
				t.Errorf("Host reached the API: %v", v)
			}
		default:
			t.Errorf("header %s: %v reached the API", name, v)
		}
	}
	if a := e.Headers["Authorization"]; len(a) != 1 || strings.Contains(a[0], "minted") || strings.Contains(a[0], "second") {
		t.Errorf("API saw Authorization %v, want only the provider token", a)
	}
}

func TestResponseHeadersFiltered(t *testing.T) {
	s := newSetup(t)
	w := s.do(t, httptest.NewRequest("GET", "/api/cookie", nil))
	if w.Code != 200 || len(s.api.Received()) != 1 {
		t.Fatalf("got %d", w.Code)
	}
	if w.Header().Get("Set-Cookie") != "" || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("upstream cookie or CORS header passed on: %v", w.Header())
	}
}

func TestRetriesOnceOn401WithARenewedToken(t *testing.T) {
	s := newSetup(t)
	s.api.RejectNext(1)
	w := s.do(t, httptest.NewRequest("GET", "/api/a", nil))
	if w.Code != 200 || s.provider.Count() != 2 || len(s.api.Received()) != 1 {
		t.Fatalf("got %d after %d provider requests", w.Code, s.provider.Count())
	}
	// Within the core's floor the renewed token stays: the next 401 is
	// passed on without asking the provider again.
	s.api.RejectNext(5)
	w = s.do(t, httptest.NewRequest("GET", "/api/a", nil))
	if w.Code != 401 || s.provider.Count() != 2 {
		t.Errorf("a 401 within the floor: got %d after %d provider requests, want 401 after none more", w.Code, s.provider.Count())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	s := newSetup(t)
	w := s.do(t, httptest.NewRequest("GET", "/api/redirect", nil))
	if w.Code != http.StatusTemporaryRedirect || len(s.api.Received()) != 1 {
		t.Errorf("got %d after %d API calls, want the 307 passed back, not followed", w.Code, len(s.api.Received()))
	}
}

func TestRefusesPathsOutsideThePrefix(t *testing.T) {
	s := newSetup(t)
	for _, p := range []string{"/api/../admin", "/api/%2e%2e/admin", "/api/a/%2E%2E/%2E%2E/x", "/apix", "/api/a%5c..%5cb", "/api/./a"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: mustUnescape(p), RawPath: p}
		if w := s.do(t, r); w.Code != 400 {
			t.Errorf("%s: got %d, want 400", p, w.Code)
		}
	}
	if n := len(s.api.Received()); n != 0 {
		t.Errorf("the API was called %d times", n)
	}
}

func mustUnescape(p string) string {
	u, err := url.PathUnescape(p)
	if err != nil {
		panic(err)
	}
	return u
}

func TestUpstreamFailures(t *testing.T) {
	s := newSetup(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	defer slow.Close()
	s.proxy.Upstream, _ = url.Parse(slow.URL)
	s.proxy.Timeout = 50 * time.Millisecond
	if w := s.do(t, httptest.NewRequest("GET", "/api/x", nil)); w.Code != 504 {
		t.Errorf("slow API: got %d, want 504", w.Code)
	}
	s.proxy.Upstream, _ = url.Parse("http://127.0.0.1:1")
	if w := s.do(t, httptest.NewRequest("GET", "/api/x", nil)); w.Code != 502 {
		t.Errorf("API down: got %d, want 502", w.Code)
	}
	s.provider.Fail(demoprovider.Fault{Kind: "status", Status: 503, Times: 10})
	s.proxy.Token = func(ctx context.Context) (*tokenhelper.Token, error) {
		c := &tokenhelper.Client{Transport: nethttp.New(nil), Retry: tokenhelper.RetryPolicy{Attempts: 1}}
		return c.Token(ctx, tokenhelper.Config{Provider: "custom", TokenURL: "http://127.0.0.1:1/t", ClientID: "c", ClientSecret: "s"})
	}
	w := s.do(t, httptest.NewRequest("GET", "/api/x", nil))
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 503 || body["error"] != "network" {
		t.Errorf("provider down: got %d %v, want 503 network (the core's code)", w.Code, body)
	}
	s.proxy.Token = func(ctx context.Context) (*tokenhelper.Token, error) {
		return nil, &tokenhelper.Error{Kind: tokenhelper.ErrTimeout, Code: tokenhelper.CodeTimeout}
	}
	w = s.do(t, httptest.NewRequest("GET", "/api/x", nil))
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 504 || body["error"] != "timeout" {
		t.Errorf("provider slow: got %d %v, want 504 timeout (the core's code)", w.Code, body)
	}
	s.proxy.Token = func(ctx context.Context) (*tokenhelper.Token, error) {
		return nil, &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "invalid_client", Status: 401, Description: "bad secret s3cret"}
	}
	s.proxy.Redact = func(s string) string { return strings.ReplaceAll(s, "s3cret", tokenhelper.Mask) }
	w = s.do(t, httptest.NewRequest("GET", "/api/x", nil))
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 502 || body["error"] != "invalid_client" || strings.Contains(w.Body.String(), "s3cret") {
		t.Errorf("provider refused: got %d %v, want 502 invalid_client with the secret masked", w.Code, body)
	}
}

func TestBodyLimit(t *testing.T) {
	s := newSetup(t)
	s.proxy.MaxBody = 10
	if w := s.do(t, httptest.NewRequest("PUT", "/api/x", strings.NewReader(strings.Repeat("a", 11)))); w.Code != 413 {
		t.Errorf("got %d, want 413", w.Code)
	}
	if len(s.api.Received()) != 0 {
		t.Error("an oversized body reached the API")
	}
}

// ServePlan answers a plan, never forwarding itself: the target, the
// allowlisted headers with the provider token, the limits, and on a
// request marked refused a renewed token with no further retry.
func TestServePlan(t *testing.T) {
	u, _ := url.Parse("https://api.example/v1")
	n := 1
	invalidated := 0
	p := &apiproxy.Proxy{Upstream: u, MaxBody: 100,
		Transport: tokenhelper.TransportFunc(func(context.Context, *tokenhelper.Request) (*tokenhelper.Response, error) {
			t.Fatal("ServePlan sent a request")
			return nil, nil
		}),
		Token: func(context.Context) (*tokenhelper.Token, error) {
			return &tokenhelper.Token{AccessToken: "provider-" + strconv.Itoa(n), TokenType: "Bearer"}, nil
		},
		// The first Invalidate renews, later ones are held by the floor.
		Invalidate: func(context.Context, *tokenhelper.Token) {
			if invalidated++; invalidated == 1 {
				n++
			}
		},
	}
	plan := func(hdr ...string) (*httptest.ResponseRecorder, apiproxy.Plan) {
		r := httptest.NewRequest("PUT", "/api/items/1?x=y", nil)
		r.Header.Set("Cookie", "session=1")
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		p.ServePlan(w, r)
		var pl apiproxy.Plan
		json.Unmarshal(w.Body.Bytes(), &pl)
		return w, pl
	}
	w, pl := plan()
	if w.Header().Get(apiproxy.PlanHeader) != "1" || pl.URL != "https://api.example/v1/items/1?x=y" || pl.Method != "PUT" ||
		pl.Header["Authorization"] != "Bearer provider-1" || pl.Header["Content-Type"] != "application/json" || pl.Header["Cookie"] != "" ||
		pl.MaxBody != 100 || pl.Replay != apiproxy.DefaultReplay || pl.TooLarge.Status != 413 || !strings.Contains(pl.Timeout.Body, "upstream_timeout") {
		t.Fatalf("plan: %d %v %+v", w.Code, w.Header(), pl)
	}
	first := pl.TokenID
	if first == "" || strings.Contains(first, "provider") || first != apiproxy.TokenID(&tokenhelper.Token{AccessToken: "provider-1"}) {
		t.Fatalf("token id %q", first)
	}
	if _, pl = plan(apiproxy.RefusedHeader, "0123456789abcdef"); invalidated != 0 || pl.Header["Authorization"] != "Bearer provider-1" || pl.Replay != 0 {
		t.Errorf("another token refused: invalidated %d, plan %+v; want the current token, no renewal, no further retry", invalidated, pl)
	}
	if _, pl = plan(apiproxy.RefusedHeader, first); invalidated != 1 || pl.Header["Authorization"] != "Bearer provider-2" || pl.Replay != 0 || pl.TokenID == first {
		t.Errorf("refused: invalidated %d, plan %+v; want a renewed token and no further retry", invalidated, pl)
	}
	// The renewed token refused too, within the floor: no new plan.
	w, _ = plan(apiproxy.RefusedHeader, pl.TokenID)
	if w.Header().Get(apiproxy.PlanHeader) != "1" || strings.TrimSpace(w.Body.String()) != `{"pass":true}` || invalidated != 2 {
		t.Errorf("refused within the floor: got %d %v %s after %d Invalidate, want a pass", w.Code, w.Header(), w.Body, invalidated)
	}
	if w, _ = plan("Content-Length", "101"); w.Code != 413 || w.Header().Get(apiproxy.PlanHeader) != "" {
		t.Errorf("over MaxBody: got %d %v, want 413 and no plan", w.Code, w.Header())
	}
}
