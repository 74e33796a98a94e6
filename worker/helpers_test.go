//go:build !js

package worker_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/fakeclock"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/worker"
)

const (
	testOrigin = "https://app.example.com"
	secret     = demoprovider.DefaultClientSecret
	password   = demoprovider.DefaultPassword
)

// fakeClock is the tests' settable clock (Sleep advances it at once).
type fakeClock = fakeclock.Clock

func newClock() *fakeClock { return fakeclock.New(time.Now()) }

// env is a set of worker settings.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// with returns a copy of e with the given name=value pairs; an empty value
// removes the setting.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// fixture is a demo provider and the settings that point a worker at it.
type fixture struct {
	t     *testing.T
	demo  *demoprovider.Server
	srv   *httptest.Server
	env   env
	store *worker.MemoryStore
	clock *fakeClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	t.Cleanup(srv.Close)
	clock := newClock()
	return &fixture{
		t: t, demo: demo, srv: srv, clock: clock,
		store: &worker.MemoryStore{Now: clock.Now},
		env: env{
			worker.VarProvider:       "alphaus-ripple",
			worker.VarTokenURL:       srv.URL + demoprovider.Path("alphaus-ripple"),
			worker.VarClientID:       demoprovider.DefaultClientID,
			worker.VarClientSecret:   secret,
			worker.VarAllowedOrigins: "http://localhost:8080, " + testOrigin,
		},
	}
}

// handler is a fresh Handler (as each Worker request is a fresh Go
// instance) sharing the fixture's Store.
func (f *fixture) handler(e env) *worker.Handler {
	return &worker.Handler{
		Getenv:    e.get,
		Transport: nethttp.New(nil),
		Store:     f.store,
		Clock:     f.clock,
		Timeout:   2 * time.Second,
	}
}

// do sends one request and checks that no secret is in the answer.
func (f *fixture) do(h http.Handler, method, path, origin string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	noSecrets(f.t, w)
	return w
}

// noSecrets searches the body and every header for the client secret and
// the password, plain and encoded.
func noSecrets(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var all strings.Builder
	all.WriteString(w.Body.String())
	for k, vs := range w.Header() {
		all.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	for _, s := range []string{secret, password} {
		for _, enc := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(all.String(), enc) {
				t.Fatalf("answer holds a secret (%q):\n%s", enc[:4]+"…", all.String())
			}
		}
	}
	if strings.Contains(all.String(), "demo-client:") {
		t.Fatalf("answer holds Basic credentials:\n%s", all.String())
	}
}

// decode reads a JSON object answer.
func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, w.Body.String())
	}
	return m
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status: got %d, want %d (%s)", w.Code, status, w.Body.String())
	}
	m := decode(t, w)
	if m["error"] != code {
		t.Fatalf("error: got %v, want %q (%s)", m["error"], code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
	return m
}

const (
	callerIssuer   = "https://team.example.com"
	callerAudience = "aud-tag-123"
)

// newCallerKeys starts a caller-identity issuer (see testkeys.Issuer).
func newCallerKeys(t *testing.T) *testkeys.Issuer {
	return testkeys.NewIssuer(t, callerIssuer, callerAudience)
}

// callerEnv adds the caller gate of issuer k to e.
func callerEnv(k *testkeys.Issuer, e env) env {
	return e.with(worker.VarCallerJWKSURL, k.JWKSURL, worker.VarCallerIssuer, k.Issuer, worker.VarCallerAudience, k.Audience)
}
