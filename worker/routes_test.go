//go:build !js

package worker_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

// routesFixture is one worker with three routes against the demo
// provider: ripple and wave in mode mint (one shared signing key, one API
// each), aluma in mode pass.
func routesFixture(t *testing.T) (*fixture, env, *demoapi.API, *demoapi.API) {
	f := newFixture(t)
	keys, err := verify.ParseJWKS(f.demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	rippleAPI, waveAPI := &demoapi.API{Keys: keys}, &demoapi.API{Keys: keys}
	rs, ws := httptest.NewServer(rippleAPI), httptest.NewServer(waveAPI)
	t.Cleanup(rs.Close)
	t.Cleanup(ws.Close)
	e := env{
		worker.VarRoutes:         "ripple,wave,aluma",
		worker.VarAllowedOrigins: testOrigin,
		worker.VarSigningKey:     mintKey,
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		"RIPPLE_TOKEN_PROVIDER":  "alphaus-ripple", "RIPPLE_TOKEN_URL": f.srv.URL + demoprovider.Path("alphaus-ripple"),
		"RIPPLE_MODE": "mint", "RIPPLE_UPSTREAM_API_URL": rs.URL + "/v1",
		"WAVE_TOKEN_PROVIDER": "alphaus-wave", "WAVE_TOKEN_URL": f.srv.URL + demoprovider.Path("alphaus-wave"),
		"WAVE_MODE": "mint", "WAVE_UPSTREAM_API_URL": ws.URL + "/v1",
		"ALUMA_TOKEN_PROVIDER": "aluma", "ALUMA_TOKEN_URL": f.srv.URL + demoprovider.Path("aluma"),
	}
	return f, e, rippleAPI, waveAPI
}

func (f *fixture) router(e env) *worker.Router { return &worker.Router{Handler: f.handler(e)} }

// providerOf is the "provider" claim of the demo provider's JWT that an
// API received as Bearer.
func providerOf(t *testing.T, auth string) string {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
	if len(parts) != 3 {
		t.Fatalf("Authorization %.20q… is not a JWT", auth)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	p, _ := c["provider"].(string)
	return p
}

func TestRoutesEachTheirProvider(t *testing.T) {
	f, e, rippleAPI, waveAPI := routesFixture(t)
	rt := f.router(e)
	mint := func(route string) string {
		w := f.do(rt, "POST", workerURL+"/"+route+"/token", testOrigin)
		if w.Code != 200 {
			t.Fatalf("POST /%s/token: got %d %s", route, w.Code, w.Body)
		}
		return decode(t, w)["access_token"].(string)
	}
	ripple, wave := mint("ripple"), mint("wave")
	if w := f.do(rt, "GET", workerURL+"/ripple/api/items", testOrigin, "Authorization", "Bearer "+ripple); w.Code != 200 {
		t.Fatalf("/ripple/api: got %d %s", w.Code, w.Body)
	}
	if w := f.do(rt, "GET", workerURL+"/wave/api/items", testOrigin, "Authorization", "Bearer "+wave); w.Code != 200 {
		t.Fatalf("/wave/api: got %d %s", w.Code, w.Body)
	}
	if got := rippleAPI.Received(); len(got) != 1 || providerOf(t, got[0].Headers["Authorization"][0]) != "alphaus-ripple" {
		t.Errorf("the Ripple API received %+v, want Ripple's token", got)
	}
	if got := waveAPI.Received(); len(got) != 1 || providerOf(t, got[0].Headers["Authorization"][0]) != "alphaus-wave" {
		t.Errorf("the Wave API received %+v, want Wave's token", got)
	}
	// A token minted for one route is refused by another, upstream untouched.
	if w := f.do(rt, "GET", workerURL+"/wave/api/items", testOrigin, "Authorization", "Bearer "+ripple); w.Code != 401 {
		t.Errorf("a Ripple token on /wave/api: got %d, want 401", w.Code)
	}
	if n := len(waveAPI.Received()); n != 1 {
		t.Errorf("the Wave API was called %d times, want 1", n)
	}
	// Pass mode hands out the provider's token.
	w := f.do(rt, "POST", workerURL+"/aluma/token", testOrigin)
	if w.Code != 200 || providerOf(t, "Bearer "+decode(t, w)["access_token"].(string)) != "aluma" {
		t.Errorf("/aluma/token: got %d %s, want Aluma's token", w.Code, w.Body)
	}
	profiles := map[string]bool{}
	for _, r := range f.demo.Requests() {
		profiles[r.Profile] = true
	}
	if !profiles["alphaus-ripple"] || !profiles["alphaus-wave"] || !profiles["aluma"] {
		t.Errorf("the provider saw profiles %v, want each route's", profiles)
	}
	if w := f.do(rt, "GET", workerURL+"/healthz", ""); w.Code != 200 {
		t.Errorf("/healthz: got %d %s", w.Code, w.Body)
	}
	w = f.do(rt, "GET", workerURL+"/routes", testOrigin)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != testOrigin ||
		!strings.Contains(w.Body.String(), `{"name":"ripple","mode":"mint"}`) || !strings.Contains(w.Body.String(), `{"name":"aluma","mode":"pass"}`) {
		t.Errorf("/routes: got %d %s", w.Code, w.Body)
	}
	if w := f.do(rt, "GET", workerURL+"/routes", "https://evil.example"); w.Code != 403 {
		t.Errorf("/routes from another origin: got %d, want 403", w.Code)
	}
	if w := f.do(rt, "POST", workerURL+"/nope/token", testOrigin); w.Code != 404 || w.Header().Get("Access-Control-Allow-Origin") != testOrigin {
		t.Errorf("an unknown route: got %d %v, want 404 readable by the allowed origin", w.Code, w.Header())
	}
}

// A route with a missing secret answers misconfigured naming its own
// variable; the others keep serving; /healthz says which.
func TestRoutesMisconfiguredRoute(t *testing.T) {
	f, e, _, _ := routesFixture(t)
	delete(e, worker.VarClientSecret)
	e["RIPPLE_CLIENT_SECRET"], e["ALUMA_CLIENT_SECRET"] = secret, secret
	rt := f.router(e)
	w := f.do(rt, "POST", workerURL+"/wave/token", testOrigin)
	if b := decode(t, w); w.Code != 500 || b["error"] != "misconfigured" || !strings.HasPrefix(b["error_description"].(string), "WAVE_CLIENT_SECRET ") {
		t.Errorf("/wave/token: got %d %v, want 500 misconfigured naming WAVE_CLIENT_SECRET", w.Code, b)
	}
	for _, route := range []string{"ripple", "aluma"} {
		if w := f.do(rt, "POST", workerURL+"/"+route+"/token", testOrigin); w.Code != 200 {
			t.Errorf("/%s/token beside a broken route: got %d %s", route, w.Code, w.Body)
		}
	}
	if w := f.do(rt, "GET", workerURL+"/healthz", ""); w.Code != 500 || !strings.Contains(w.Body.String(), "WAVE_CLIENT_SECRET") {
		t.Errorf("/healthz: got %d %s, want 500 naming WAVE_CLIENT_SECRET", w.Code, w.Body)
	}
}

func TestRoutesNames(t *testing.T) {
	f, e, _, _ := routesFixture(t)
	for _, list := range []string{"api", "Ripple", "a,a", "token,x", "1x", strings.Repeat("a", 33), "ok,.hidden"} {
		w := f.do(f.router(e.with(worker.VarRoutes, list)), "GET", workerURL+"/healthz", "")
		if b := decode(t, w); w.Code != 500 || !strings.HasPrefix(b["error_description"].(string), "ROUTES ") {
			t.Errorf("ROUTES=%q: got %d %v, want 500 naming ROUTES", list, w.Code, b)
		}
	}
	// Without ROUTES the Router is the Handler: /token as before.
	if w := f.do(f.router(f.env), "POST", workerURL+"/token", testOrigin); w.Code != 200 {
		t.Errorf("without ROUTES: got %d %s", w.Code, w.Body)
	}
}

// TestRoutesOfOneClientWithAnotherSecret: two routes of the same client
// id, one with the right secret and one with a wrong one, sharing one
// Store (as KV is shared), with and without TOKEN_HOLDER objects (one per
// key, as the binding names them): the wrong route is never handed the
// right one's token but tries its own secret (502 invalid_client after
// one provider request, then its backoff without a request), and the
// right route keeps its token (no further request).
func TestRoutesOfOneClientWithAnotherSecret(t *testing.T) {
	for _, holder := range []bool{false, true} {
		t.Run(map[bool]string{false: "store", true: "holder"}[holder], func(t *testing.T) {
			f := newFixture(t)
			f.env = f.env.with(worker.VarRoutes, "good,bad", "BAD_CLIENT_SECRET", "wrong-secret-of-some-length",
				worker.VarProvider, "aluma", worker.VarTokenURL, f.srv.URL+demoprovider.Path("aluma"))
			h := f.handler(f.env)
			objects := map[string]*worker.Holder{}
			if holder {
				h.Coordinator = &worker.HolderCoordinator{Clock: f.clock, Log: func(s string) { t.Error("fell back:", s) },
					Transport: tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
						key := r.Header[worker.HolderKeyHeader]
						if objects[key] == nil {
							objects[key] = &worker.Holder{Getenv: f.env.get, Transport: nethttp.New(nil), Clock: f.clock, Timeout: 2 * time.Second,
								Store: &worker.MemoryStore{Now: f.clock.Now}}
						}
						w := httptest.NewRecorder()
						req := httptest.NewRequest("POST", "/token", nil)
						req.Header.Set(worker.HolderKeyHeader, key)
						objects[key].ServeHTTP(w, req)
						return &tokenhelper.Response{Status: w.Code, Header: map[string]string{"content-type": w.Header().Get("Content-Type")},
							Body: io.NopCloser(w.Body)}, nil
					})}
			}
			rt := &worker.Router{Handler: h}
			good := f.do(rt, "POST", "/good/token", testOrigin)
			if good.Code != 200 || f.demo.Count() != 1 {
				t.Fatalf("/good/token: got %d %s after %d provider requests, want 200 after 1", good.Code, good.Body, f.demo.Count())
			}
			tok := decode(t, good)["access_token"]
			for i := range 2 {
				bad := f.do(rt, "POST", "/bad/token", testOrigin)
				wantError(t, bad, 502, "invalid_client")
				if strings.Contains(bad.Body.String(), tok.(string)) {
					t.Fatal("the wrong secret's route handed out the right one's token")
				}
				if n := f.demo.Count(); n != 2 {
					t.Errorf("/bad/token #%d: %d provider requests in all, want 2 (one for the wrong secret, then its backoff)", i+1, n)
				}
			}
			f.clock.Advance(2 * time.Second) // the wrong secret's backoff is over: asked again
			wantError(t, f.do(rt, "POST", "/bad/token", testOrigin), 502, "invalid_client")
			again := f.do(rt, "POST", "/good/token", testOrigin)
			if again.Code != 200 || decode(t, again)["access_token"] != tok || f.demo.Count() != 3 {
				t.Errorf("/good/token again: got %d with %d provider requests in all, want the same token and 3", again.Code, f.demo.Count())
			}
			if holder && len(objects) != 2 {
				t.Errorf("TOKEN_HOLDER objects: got %d, want 2 (one per secret)", len(objects))
			}
		})
	}
}
