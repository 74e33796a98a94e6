//go:build !js

package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// logSink captures a Handler's log lines.
type logSink struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
	evs   []map[string]any
}

func newLogSink(t *testing.T) *logSink { return &logSink{t: t} }

// sink is the Handler's Log: each line must be one JSON object whose
// level is the one given.
func (s *logSink) sink(level string, line []byte) {
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		s.t.Errorf("log line is not JSON: %v: %s", err, line)
		return
	}
	if m["level"] != level {
		s.t.Errorf("line level %v, sink level %q: %s", m["level"], level, line)
	}
	if strings.Contains(string(line), "\n") {
		s.t.Errorf("line holds a newline: %s", line)
	}
	s.mu.Lock()
	s.lines = append(s.lines, string(line))
	s.evs = append(s.evs, m)
	s.mu.Unlock()
}

// events returns the lines of event name so far.
func (s *logSink) events(name string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, m := range s.evs {
		if m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

// wait waits (generously) until n lines of event name were logged.
func (s *logSink) wait(name string, n int) []map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if evs := s.events(name); len(evs) >= n || time.Now().After(deadline) {
			if len(evs) < n {
				s.t.Fatalf("%d %q lines after 10 s, want %d:\n%s", len(evs), name, n, s.all())
			}
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *logSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

func (s *logSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// noSecretsIn searches every line for every secret of the run.
func (s *logSink) noSecretsIn(secrets ...string) {
	s.t.Helper()
	all := s.all()
	for _, sec := range append(secrets, secret, password, "Bearer ", "Authorization") {
		if sec != "" && strings.Contains(all, sec) {
			s.t.Errorf("a log line holds %q…:\n%s", sec[:min(6, len(sec))], all)
		}
	}
}

func TestOpsLogsRenewals(t *testing.T) {
	f := newFixture(t)
	logs := newLogSink(t)
	h := f.handler(f.env)
	h.Log = logs.sink
	var tokens []string
	get := func(h http.Handler) {
		t.Helper()
		w := f.do(h, "POST", "/token", testOrigin)
		if w.Code != 200 {
			t.Fatalf("POST /token: %d %s", w.Code, w.Body)
		}
		tokens = append(tokens, decode(t, w)["access_token"].(string))
	}
	get(h)
	ev := logs.wait(worker.EventToken, 1)[0]
	if ev["from"] != "provider" || ev["grant"] != "client_credentials" || ev["status"] != 200.0 || ev["requests"] != 1.0 ||
		ev["level"] != "info" || ev["route"] != "/" || ev["lifetime_s"] != 86400.0 {
		t.Errorf("provider renewal line: %v", ev)
	}
	if _, ok := ev["time"].(string); !ok {
		t.Errorf("no time: %v", ev)
	}
	// The cached path logs nothing.
	n := logs.count()
	for range 50 {
		get(h)
	}
	if logs.count() != n {
		t.Errorf("the cached path logged:\n%s", logs.all())
	}
	// Another isolate finds the token in the shared store.
	h2 := f.handler(f.env)
	h2.Log = logs.sink
	get(h2)
	if ev := logs.wait(worker.EventToken, 2)[1]; ev["from"] != "memory" || ev["requests"] != nil {
		t.Errorf("store renewal line: %v", ev)
	}
	// Near expiry the provider is down: the held token serves, the line
	// says so, with the backoff.
	f.clock.Advance(24*time.Hour - 20*time.Second)
	f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 503, Times: 10})
	get(h)
	ev = logs.wait(worker.EventRenewalFailed, 1)[0]
	// The demo gave a refresh token: the renewal used it.
	if ev["code"] != "temporarily_unavailable" || ev["status"] != 503.0 || ev["level"] != "warn" || ev["from"] != "provider" || ev["grant"] != "refresh_token" ||
		ev["backoff_s"] != 1.0 || ev["backoff_until"] == nil || ev["requests"].(float64) < 1 {
		t.Errorf("renewal failure line: %v", ev)
	}
	if st := logs.wait(worker.EventStaleToken, 1)[0]; st["expires_in_s"].(float64) <= 0 || st["expires_in_s"].(float64) > 20 || st["level"] != "warn" {
		t.Errorf("stale line: %v", st)
	}
	logs.noSecretsIn(tokens...)
}

func TestOpsLogsRejectedClientAndMisconfiguration(t *testing.T) {
	f := newFixture(t)
	logs := newLogSink(t)
	const wrong = "wrong-secret-9f8e7d6c5b4a"
	h := f.handler(f.env.with(worker.VarClientSecret, wrong))
	h.Log = logs.sink
	if w := f.do(h, "POST", "/token", testOrigin); w.Code == 200 {
		t.Fatalf("a wrong secret got a token")
	}
	ev := logs.wait(worker.EventRenewalFailed, 1)[0]
	if ev["code"] != "invalid_client" || ev["status"] != 401.0 || ev["level"] != "error" {
		t.Errorf("rejected client line: %v", ev)
	}
	// Misconfigured: the variable named once, its value never.
	const badURL = "ftp://nope.example/leak-marker-1234"
	h = f.handler(f.env.with(worker.VarTokenURL, badURL))
	h.Log = logs.sink
	for range 20 {
		f.do(h, "POST", "/token", testOrigin)
	}
	mis := logs.events(worker.EventMisconfigured)
	if len(mis) != 1 || mis[0]["var"] != worker.VarTokenURL || mis[0]["level"] != "error" {
		t.Errorf("misconfigured lines: %v", mis)
	}
	// A route of ROUTES names its prefixed variable.
	rt := &worker.Router{Handler: f.handler(f.env.with(worker.VarRoutes, "ripple", "RIPPLE_"+worker.VarTokenURL, badURL))}
	rt.Handler.Log = logs.sink
	f.do(rt, "POST", "/ripple/token", testOrigin)
	if mis := logs.events(worker.EventMisconfigured); len(mis) != 2 || mis[1]["var"] != "RIPPLE_"+worker.VarTokenURL || mis[1]["route"] != "ripple" {
		t.Errorf("route misconfigured lines: %v", mis)
	}
	logs.noSecretsIn(wrong, "leak-marker-1234", "nope.example")
}

func TestOpsRefusalsSummarised(t *testing.T) {
	f := newMintFixture(t, mintKey)
	logs := newLogSink(t)
	h := f.handler(f.env)
	h.Log = logs.sink
	h.Limiter = &worker.MemoryLimiter{Limit: 3, Period: time.Hour, Now: f.clock.Now}
	good := ""
	if w := f.do(h, "POST", workerURL+"/token", testOrigin); w.Code == 200 {
		good = decode(t, w)["access_token"].(string)
	}
	var forged []string
	for i := range 1000 {
		tok := fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.eyJmb3JnZWQiOiIlZCJ9.forged-%04d", i)
		forged = append(forged, tok)
		if w := f.do(h, "GET", workerURL+"/api/items", testOrigin, "Authorization", "Bearer "+tok); w.Code != 401 {
			t.Fatalf("forged token: %d", w.Code)
		}
	}
	for range 7 {
		f.do(h, "GET", workerURL+"/api/items", "https://evil.example", "Authorization", "Bearer "+good)
	}
	f.do(h, "GET", workerURL+"/api/%2e%2e/admin", testOrigin, "Authorization", "Bearer "+good)
	r := httptest.NewRequest("POST", workerURL+"/api/items", strings.NewReader(strings.Repeat("x", 1<<20+1))) // Go's forward caps at 1 MiB
	r.Header.Set("Origin", testOrigin)
	r.Header.Set("Authorization", "Bearer "+good)
	h.ServeHTTP(httptest.NewRecorder(), r)
	for range 5 { // 3 allowed, the one above included: 3 refused
		f.do(h, "POST", workerURL+"/token", testOrigin)
	}
	if n := logs.count(); n > 8 {
		t.Errorf("%d lines for 1,000 forged tokens and a few other refusals:\n%s", n, logs.all())
	}
	first := map[string]float64{}
	for _, e := range logs.events(worker.EventRefusals) {
		first[e["reason"].(string)] += e["count"].(float64)
		if e["window_s"] != nil {
			t.Errorf("first line with a window: %v", e)
		}
	}
	want1 := map[string]float64{"invalid_token": 1, "origin_not_allowed": 1, "path_refused": 1, "body_too_large": 1, "rate_limited": 1}
	if fmt.Sprint(first) != fmt.Sprint(want1) {
		t.Errorf("first lines: got %v, want %v\n%s", first, want1, logs.all())
	}
	// Within the minute, more refusals log nothing; after it, the next
	// request of the route logs each pending count once.
	before := logs.count()
	f.clock.Advance(30 * time.Second)
	f.do(h, "GET", "/healthz", "")
	if logs.count() != before {
		t.Errorf("logged within the minute:\n%s", logs.all())
	}
	f.clock.Advance(31 * time.Second)
	f.do(h, "GET", "/healthz", "")
	f.do(h, "GET", "/healthz", "")
	got := map[string]float64{}
	for _, e := range logs.events(worker.EventRefusals)[len(first):] {
		got[e["reason"].(string)] += e["count"].(float64)
		if e["window_s"].(float64) < 60 {
			t.Errorf("window: %v", e)
		}
	}
	want := map[string]float64{"invalid_token": 999, "origin_not_allowed": 6, "rate_limited": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("summary lines: got %v, want %v\n%s", got, want, logs.all())
	}
	logs.noSecretsIn(append(forged, good, mintKey)...)
}

func TestOpsCallerRefusalsCounted(t *testing.T) {
	f := newFixture(t)
	k := newCallerKeys(t)
	logs := newLogSink(t)
	h := f.handler(callerEnv(k, f.env))
	h.Log = logs.sink
	for i := range 10 {
		jwt := fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.caller-forged-%d", i)
		if w := f.do(h, "POST", "/token", testOrigin, "Cf-Access-Jwt-Assertion", jwt); w.Code != 401 {
			t.Fatalf("forged caller JWT: %d %s", w.Code, w.Body)
		}
	}
	evs := logs.events(worker.EventRefusals)
	if len(evs) != 1 || evs[0]["reason"] != worker.RefuseCaller || evs[0]["count"] != 1.0 {
		t.Errorf("caller refusal lines: %v", evs)
	}
	logs.noSecretsIn("caller-forged")
}

func TestOpsStatus(t *testing.T) {
	f := newFixture(t)
	logs := newLogSink(t)
	const statusToken = "status-token-0123456789abcdef"
	read := func(h http.Handler, path, auth, origin string) *httptest.ResponseRecorder {
		t.Helper()
		hdr := []string{}
		if auth != "" {
			hdr = append(hdr, "Authorization", auth)
		}
		return f.do(h, "GET", path, origin, hdr...)
	}
	// Off without STATUS_TOKEN.
	h := f.handler(f.env)
	wantError(t, read(h, "/status", "Bearer anything", testOrigin), 404, "not_found")

	e := f.env.with(worker.VarStatusToken, statusToken)
	h = f.handler(e)
	h.Log = logs.sink
	// Not an allowed origin, not a wrong token, not another scheme.
	for _, auth := range []string{"", "Bearer wrong", "Basic " + statusToken, "Bearer " + statusToken + "x"} {
		w := wantError(t, read(h, "/status", auth, testOrigin), 401, "invalid_token")
		_ = w
	}
	w := read(h, "/status", "Bearer "+statusToken, "")
	if w.Code != 200 {
		t.Fatalf("status: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the status is readable by pages")
	}
	var st struct {
		Routes []worker.RouteStatus `json:"routes"`
	}
	json.Unmarshal(w.Body.Bytes(), &st)
	if len(st.Routes) != 1 || st.Routes[0].TokenHeld || st.Routes[0].LastRenewal != nil || st.Routes[0].Refusals["status_unauthorized"] != 4 ||
		fmt.Sprint(st.Routes[0].Sources) != "[memory provider]" || st.Routes[0].Mode != "pass" {
		t.Errorf("status before a token: %s", w.Body)
	}
	tw := f.do(h, "POST", "/token", testOrigin)
	tok := decode(t, tw)["access_token"].(string)
	w = read(h, "/status", "Bearer "+statusToken, "")
	json.Unmarshal(w.Body.Bytes(), &st)
	r := st.Routes[0]
	if !r.TokenHeld || r.ExpiresInS < 86000 || r.LastRenewal == nil || !r.LastRenewal.OK || r.LastRenewal.From != "provider" || r.LastRenewal.Status != 200 || !r.BackoffUntil.IsZero() {
		t.Errorf("status with a token: %s", w.Body)
	}
	if strings.Contains(w.Body.String(), tok) || strings.Contains(w.Body.String(), statusToken) {
		t.Errorf("the status holds a token: %s", w.Body)
	}
	// The provider refuses: last code and backoff.
	f.clock.Advance(25 * time.Hour)
	f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 401, Times: 5})
	f.do(h, "POST", "/token", testOrigin)
	w = read(h, "/status", "Bearer "+statusToken, "")
	json.Unmarshal(w.Body.Bytes(), &st)
	r = st.Routes[0]
	if r.TokenHeld || r.LastRenewal == nil || r.LastRenewal.OK || r.LastRenewal.Code != "invalid_client" || r.LastRenewal.Status != 401 || !r.BackoffUntil.After(f.clock.Now()) {
		t.Errorf("status after a refusal: %s", w.Body)
	}
	// With ROUTES: GET /status lists every route with the shared
	// STATUS_TOKEN; /ripple/status takes the route's own.
	re := e.with(worker.VarRoutes, "ripple,wave", "RIPPLE_"+worker.VarProvider, e[worker.VarProvider], "RIPPLE_"+worker.VarStatusToken, "ripple-status-token",
		"WAVE_"+worker.VarTokenURL, "ftp://bad")
	rt := &worker.Router{Handler: f.handler(re)}
	w = read(rt, "/status", "Bearer "+statusToken, "")
	json.Unmarshal(w.Body.Bytes(), &st)
	if w.Code != 200 || len(st.Routes) != 2 || st.Routes[0].Route != "ripple" || st.Routes[1].Mode != "misconfigured" || st.Routes[1].Var != "WAVE_"+worker.VarTokenURL {
		t.Errorf("router status: %d %s", w.Code, w.Body)
	}
	wantError(t, read(rt, "/ripple/status", "Bearer "+statusToken, ""), 401, "invalid_token")
	if w := read(rt, "/ripple/status", "Bearer ripple-status-token", ""); w.Code != 200 || strings.Contains(w.Body.String(), "wave") {
		t.Errorf("route status: %d %s", w.Code, w.Body)
	}
	logs.noSecretsIn(tok, statusToken, "ripple-status-token")
}

// TestOpsStatusCORS: a page of an allowed origin may read every /status
// answer (the page's worker mode) and have its preflight answered; the
// content still takes STATUS_TOKEN; another origin gets no CORS header.
func TestOpsStatusCORS(t *testing.T) {
	f := newFixture(t)
	const statusToken = "status-token-0123456789abcdef"
	const otherOrigin = "https://evil.example.net"
	cors := func(w *httptest.ResponseRecorder, origin string) {
		t.Helper()
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("%d: Access-Control-Allow-Origin %q, want %q", w.Code, got, origin)
		}
		if w.Header().Get("Vary") != "Origin" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%d: Vary %q, Cache-Control %q", w.Code, w.Header().Get("Vary"), w.Header().Get("Cache-Control"))
		}
	}
	refused := func(w *httptest.ResponseRecorder, status int, code string) *httptest.ResponseRecorder {
		t.Helper()
		wantError(t, w, status, code)
		return w
	}
	// Off: an allowed page reads the 404 for what it is.
	h := f.handler(f.env)
	cors(refused(f.do(h, "GET", "/status", testOrigin, "Authorization", "Bearer x"), 404, "not_found"), testOrigin)

	e := f.env.with(worker.VarStatusToken, statusToken, worker.VarRoutes, "")
	re := e.with(worker.VarRoutes, "ripple", "RIPPLE_"+worker.VarProvider, e[worker.VarProvider])
	for _, c := range []struct {
		name, path string
		h          http.Handler
	}{{"handler", "/status", f.handler(e)}, {"router", "/status", &worker.Router{Handler: f.handler(re)}}, {"route", "/ripple/status", &worker.Router{Handler: f.handler(re)}}} {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(c.h, "OPTIONS", c.path, testOrigin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
			if w.Code != 204 || w.Header().Get("Access-Control-Allow-Methods") != "GET" || w.Header().Get("Access-Control-Allow-Headers") != "Authorization" {
				t.Errorf("preflight: %d %v", w.Code, w.Header())
			}
			cors(w, testOrigin)
			if w := f.do(c.h, "OPTIONS", c.path, otherOrigin, "Access-Control-Request-Method", "GET"); w.Code == 204 || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("preflight of another origin: %d %v", w.Code, w.Header())
			}
			// The allowed origin: the 401 readable, the content only with the token.
			cors(refused(f.do(c.h, "GET", c.path, testOrigin), 401, "invalid_token"), testOrigin)
			cors(refused(f.do(c.h, "GET", c.path, testOrigin, "Authorization", "Bearer wrong"), 401, "invalid_token"), testOrigin)
			w = f.do(c.h, "GET", c.path, testOrigin, "Authorization", "Bearer "+statusToken)
			if w.Code != 200 || !strings.Contains(w.Body.String(), `"token_held":`) {
				t.Fatalf("status: %d %s", w.Code, w.Body)
			}
			cors(w, testOrigin)
			// Another origin: the same answers, no CORS header.
			cors(refused(f.do(c.h, "GET", c.path, otherOrigin), 401, "invalid_token"), "")
			if w := f.do(c.h, "GET", c.path, otherOrigin, "Authorization", "Bearer "+statusToken); w.Code != 200 {
				t.Errorf("status for a tool: %d %s", w.Code, w.Body)
			} else {
				cors(w, "")
			}
		})
	}
}

// failingStub is a TOKEN_HOLDER stub whose fetch fails.
type failingStub struct{}

func (failingStub) RoundTrip(context.Context, *tokenhelper.Request) (*tokenhelper.Response, error) {
	return nil, errors.New("stub down")
}

func TestOpsHolderFallbackLine(t *testing.T) {
	f := newFixture(t)
	var lines []string
	c := &worker.HolderCoordinator{Transport: failingStub{}, Clock: f.clock, Log: func(s string) { lines = append(lines, s) }}
	h := f.handler(f.env)
	h.Coordinator = c
	logs := newLogSink(t)
	h.Log = logs.sink
	for range 3 {
		if w := f.do(h, "POST", "/token", testOrigin); w.Code != 200 {
			t.Fatalf("fallback: %d %s", w.Code, w.Body)
		}
		f.clock.Advance(25 * time.Hour) // each request renews
	}
	// One line a minute at most; here each renewal is a day apart.
	if len(lines) != 3 {
		t.Fatalf("fallback lines: %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["event"] != worker.EventHolderFallback || m["level"] != "warn" ||
		!strings.Contains(m["msg"].(string), "TOKEN_HOLDER object failed (the stub fetch failed)") {
		t.Errorf("fallback line: %v %s", err, lines[0])
	}
	// The renewal itself is logged by the route, as its own.
	if ev := logs.wait(worker.EventToken, 3)[0]; ev["from"] != "provider" {
		t.Errorf("renewal after the fallback: %v", ev)
	}
}
