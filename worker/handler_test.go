//go:build !js

package worker_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

func TestTokenFromAllowedOrigin(t *testing.T) {
	f := newFixture(t)
	w := f.do(f.handler(f.env), "POST", "/token", testOrigin)
	if w.Code != 200 {
		t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
	}
	m := decode(t, w)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if got := strings.Join(keys, ","); got != "access_token,expires_in,token_type" {
		t.Errorf("fields: got %s, want access_token,expires_in,token_type (never refresh_token or id_token)", got)
	}
	if m["token_type"] != "Bearer" {
		t.Errorf("token_type: got %v, want Bearer", m["token_type"])
	}
	if m["expires_in"] != float64(86400) {
		t.Errorf("expires_in: got %v, want 86400", m["expires_in"])
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin": testOrigin, "Vary": "Origin", "Cache-Control": "no-store",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
}

func TestExpiresInIsRemainingLifetime(t *testing.T) {
	f := newFixture(t)
	first := decode(t, f.do(f.handler(f.env), "POST", "/token", testOrigin))
	f.clock.Advance(time.Hour)
	w := f.do(f.handler(f.env), "POST", "/token", testOrigin) // a new instance: only the Store is shared
	m := decode(t, w)
	if m["expires_in"] != float64(86400-3600) {
		t.Errorf("expires_in after 1h: got %v, want %d", m["expires_in"], 86400-3600)
	}
	if m["access_token"] != first["access_token"] {
		t.Error("second request got a different token; want the cached one")
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
	// Past the refresh margin (the last minute of 24 h) the next token is fetched.
	f.clock.Advance(23*time.Hour - 30*time.Second)
	f.do(f.handler(f.env), "POST", "/token", testOrigin)
	if n := f.demo.Count(); n != 2 {
		t.Errorf("provider requests after the refresh margin: got %d, want 2", n)
	}
}

func TestBurstCostsAtMostOneRequestPerRequestInFlight(t *testing.T) {
	f := newFixture(t)
	run := func(n, par int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, par)
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r, _ := http.NewRequest("POST", "/token", nil)
				r.Header.Set("Origin", testOrigin)
				w := &recorder{h: http.Header{}}
				f.handler(f.env).ServeHTTP(w, r)
				if w.code != 200 {
					t.Errorf("status: got %d, want 200", w.code)
				}
			}()
		}
		wg.Wait()
	}
	run(100, 8)
	if n := f.demo.Count(); n > 8 {
		t.Errorf("provider requests for 100 at 8 in flight: got %d, want at most 8", n)
	}
	before := f.demo.Count()
	run(100, 8)
	if n := f.demo.Count() - before; n != 0 {
		t.Errorf("provider requests once cached: got %d, want 0", n)
	}
}

// recorder is a minimal concurrent-safe ResponseWriter for the burst test.
type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(c int)   { r.code = c }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return len(b), nil
}

func TestPreflight(t *testing.T) {
	f := newFixture(t)
	w := f.do(f.handler(f.env), "OPTIONS", "/token", testOrigin, "Access-Control-Request-Method", "POST")
	if w.Code != http.StatusNoContent {
		t.Fatalf("status: got %d, want 204", w.Code)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  testOrigin,
		"Access-Control-Allow-Methods": "POST, OPTIONS",
		"Vary":                         "Origin",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("Access-Control-Allow-Headers: got %q, want Content-Type among them", w.Header().Get("Access-Control-Allow-Headers"))
	}
	w = f.do(f.handler(f.env), "OPTIONS", "/token", "https://evil.example")
	wantError(t, w, http.StatusForbidden, "origin_not_allowed")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin for a refused preflight: got %q, want none", got)
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}

func TestOtherOrigins(t *testing.T) {
	f := newFixture(t)
	for _, o := range []string{"", "https://evil.example", "https://app.example.com.evil.example", "https://APP.example.com",
		"https://app.example.com:443", "http://app.example.com", "null", testOrigin + "/"} {
		w := f.do(f.handler(f.env), "POST", "/token", o)
		wantError(t, w, http.StatusForbidden, "origin_not_allowed")
		if strings.Contains(w.Body.String(), "access_token") {
			t.Errorf("origin %q: body holds a token", o)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want none", o, got)
		}
		if got := w.Header().Get("Vary"); got != "Origin" {
			t.Errorf("origin %q: Vary %q, want Origin", o, got)
		}
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	w := f.do(f.handler(f.env), "GET", "/healthz", "")
	if w.Code != 200 || decode(t, w)["status"] != "ok" {
		t.Fatalf("healthz: got %d %s, want 200 ok", w.Code, w.Body)
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
	w = f.do(f.handler(f.env.with(worker.VarClientSecret, "")), "GET", "/healthz", "")
	m := wantError(t, w, http.StatusInternalServerError, "misconfigured")
	if !strings.HasPrefix(m["error_description"].(string), "CLIENT_SECRET ") {
		t.Errorf("error_description: got %q, want it to name CLIENT_SECRET", m["error_description"])
	}
	wantError(t, f.do(f.handler(f.env), "POST", "/healthz", ""), http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestOtherRequests(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(f.handler(f.env), "GET", "/token", testOrigin), http.StatusMethodNotAllowed, "method_not_allowed")
	wantError(t, f.do(f.handler(f.env), "GET", "/", testOrigin), http.StatusNotFound, "not_found")
	wantError(t, f.do(f.handler(f.env), "POST", "/api/x", testOrigin), http.StatusNotFound, "not_found")
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}

// TestNotFoundCarriesCORS: a wrong path answers an allowed origin a 404 it
// can read (CORS headers set), and another origin a 404 without them.
func TestNotFoundCarriesCORS(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/tokens", "/ripple/token", "/.well-known/jwks.json"} {
		for _, c := range []struct{ origin, want string }{{testOrigin, testOrigin}, {"https://evil.example", ""}, {"", ""}} {
			w := f.do(f.handler(f.env), "POST", path, c.origin)
			wantError(t, w, http.StatusNotFound, "not_found")
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != c.want {
				t.Errorf("%s from %q: Access-Control-Allow-Origin %q, want %q", path, c.origin, got, c.want)
			}
			if got := w.Header().Get("Vary"); got != "Origin" {
				t.Errorf("%s from %q: Vary %q, want Origin", path, c.origin, got)
			}
		}
	}
	// /api/ outside mode mint: the origin is checked first (403 for others).
	w := f.do(f.handler(f.env), "POST", "/api/x", testOrigin)
	wantError(t, w, http.StatusNotFound, "not_found")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
		t.Errorf("/api/x: Access-Control-Allow-Origin %q, want %q", got, testOrigin)
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}

func TestPasswordGrant(t *testing.T) {
	f := newFixture(t)
	e := f.env.with(worker.VarGrantType, "password", worker.VarUsername, demoprovider.DefaultUsername, worker.VarPassword, password)
	w := f.do(f.handler(e), "POST", "/token", testOrigin)
	if w.Code != 200 {
		t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
	}
	got := f.demo.Requests()[0].Fields["grant_type"]
	if got != "password" {
		t.Errorf("grant_type sent: got %q, want password", got)
	}
}

func TestProfiles(t *testing.T) {
	for _, p := range []string{"alphaus-ripple", "alphaus-wave", "aluma", "alluvial", "alluvial-staging"} {
		t.Run(p, func(t *testing.T) {
			f := newFixture(t)
			e := f.env.with(worker.VarProvider, p, worker.VarTokenURL, f.srv.URL+demoprovider.Path(p))
			if w := f.do(f.handler(e), "POST", "/token", testOrigin); w.Code != 200 {
				t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
			}
		})
	}
	for _, enc := range []string{"multipart", "form", "json"} {
		for _, auth := range []string{"body", "basic"} {
			t.Run("custom-"+enc+"-"+auth, func(t *testing.T) {
				f := newFixture(t)
				e := f.env.with(worker.VarProvider, "custom", worker.VarTokenURL, f.srv.URL+demoprovider.Path("custom"),
					worker.VarEncoding, enc, worker.VarAuthStyle, auth)
				if w := f.do(f.handler(e), "POST", "/token", testOrigin); w.Code != 200 {
					t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
				}
			})
		}
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	lim := &worker.MemoryLimiter{Limit: 2, Period: time.Minute, Now: f.clock.Now}
	h := func() *worker.Handler { x := f.handler(f.env); x.Limiter = lim; return x }
	for i := range 2 {
		if w := f.do(h(), "POST", "/token", testOrigin, "CF-Connecting-IP", "203.0.113.7"); w.Code != 200 {
			t.Fatalf("request %d: got %d, want 200", i+1, w.Code)
		}
	}
	w := f.do(h(), "POST", "/token", testOrigin, "CF-Connecting-IP", "203.0.113.7")
	wantError(t, w, http.StatusTooManyRequests, "rate_limited")
	if got := w.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After: got %q, want 60", got)
	}
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
		t.Errorf("Access-Control-Allow-Origin: got %q, want %q (the page must see the 429)", got, testOrigin)
	}
	if w := f.do(h(), "POST", "/token", testOrigin, "CF-Connecting-IP", "198.51.100.1"); w.Code != 200 {
		t.Errorf("another address: got %d, want 200", w.Code)
	}
	f.clock.Advance(time.Minute)
	if w := f.do(h(), "POST", "/token", testOrigin, "CF-Connecting-IP", "203.0.113.7"); w.Code != 200 {
		t.Errorf("after the window: got %d, want 200", w.Code)
	}
}

// refuseAll is a Limiter that, like Cloudflare's binding, refuses without
// saying for how long.
type refuseAll struct{}

func (refuseAll) Allow(context.Context, string) (bool, time.Duration, error) { return false, 0, nil }

// TestRateLimitPeriod: a refusal without a wait announces RATE_LIMIT_PERIOD.
func TestRateLimitPeriod(t *testing.T) {
	f := newFixture(t)
	for period, want := range map[string]string{"": "60", "60": "60", "10": "10"} {
		x := f.handler(f.env.with(worker.VarRateLimitPeriod, period))
		x.Limiter = refuseAll{}
		w := f.do(x, "POST", "/token", testOrigin)
		wantError(t, w, http.StatusTooManyRequests, "rate_limited")
		if got := w.Header().Get("Retry-After"); got != want {
			t.Errorf("RATE_LIMIT_PERIOD %q: Retry-After got %q, want %s", period, got, want)
		}
	}
}

// TokenKey: the route's credentials and, in mode mint, its SIGNING_KEY
// end the key: another secret or password, or another signing key, is
// another key; the same settings, the same key (so that isolates and the
// object agree).
func TestTokenKeyBindsTheCredentials(t *testing.T) {
	f := newFixture(t)
	other := mintKey + "-rotated"
	keys := map[string]env{
		"pass":                 f.env,
		"pass, another secret": f.env.with(worker.VarClientSecret, "another-secret"),
		"mint":                 f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, "https://api.example/v1"),
		"mint, another secret": f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, "https://api.example/v1", worker.VarClientSecret, "another-secret"),
		"mint, another key":    f.env.with(worker.VarMode, "mint", worker.VarSigningKey, other, worker.VarUpstream, "https://api.example/v1"),
	}
	seen := map[string]string{}
	for name, e := range keys {
		k, err := worker.TokenKey(e.get)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again, _ := worker.TokenKey(e.get); again != k {
			t.Errorf("%s: two keys for one configuration", name)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s have one key %s", name, prev, k)
		}
		seen[k] = name
	}
}
