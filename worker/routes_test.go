//go:build !js

package worker_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
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
