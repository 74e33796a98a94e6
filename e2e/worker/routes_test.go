//go:build unix

package workere2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWorkerdRoutes: one worker in workerd with three routes against the
// demo provider (ripple and wave in mode mint, aluma in mode pass, and
// broken, a route without its secret): each route gets its own provider
// token, each API its own route's, a token minted for one route is
// refused by another, the broken route answers misconfigured while the
// others serve, and the JS module in Chromium reaches a route's API
// through { worker: ".../ripple/token" } and fetch("/api/…").
func TestWorkerdRoutes(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	modulePrereqs(t, dist)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	rippleAPI, waveAPI := &demoapi.API{Keys: keys}, &demoapi.API{Keys: keys}
	rs, ws := httptest.NewServer(rippleAPI), httptest.NewServer(waveAPI)
	defer rs.Close()
	defer ws.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	_, signingKey := testkeys.Ed25519(t)
	vars := env{
		worker.VarRoutes:         "ripple,wave,aluma,broken",
		worker.VarAllowedOrigins: page.URL,
		worker.VarSigningKey:     dotenvQuoted(signingKey),
		worker.VarClientID:       demoprovider.DefaultClientID,
		"RIPPLE_CLIENT_SECRET":   secret, "WAVE_CLIENT_SECRET": secret, "ALUMA_CLIENT_SECRET": secret,
		"RIPPLE_TOKEN_PROVIDER": "alphaus-ripple", "RIPPLE_TOKEN_URL": provider.URL + demoprovider.Path("alphaus-ripple"),
		"RIPPLE_MODE": "mint", "RIPPLE_UPSTREAM_API_URL": rs.URL + "/v1",
		"WAVE_TOKEN_PROVIDER": "alphaus-wave", "WAVE_TOKEN_URL": provider.URL + demoprovider.Path("alphaus-wave"),
		"WAVE_MODE": "mint", "WAVE_UPSTREAM_API_URL": ws.URL + "/v1",
		"ALUMA_TOKEN_PROVIDER": "aluma", "ALUMA_TOKEN_URL": provider.URL + demoprovider.Path("aluma"),
		"BROKEN_TOKEN_PROVIDER": "aluma", "BROKEN_TOKEN_URL": provider.URL + demoprovider.Path("aluma"),
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	client := &http.Client{Timeout: 30 * time.Second}
	ctx := t.Context()
	call := func(method, path string, hdr ...string) answer {
		return do(ctx, client, method, w.URL+path, append([]string{"Origin", page.URL}, hdr...)...)
	}
	provOf := func(auth string) string {
		parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
		if len(parts) != 3 {
			return ""
		}
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c map[string]any
		json.Unmarshal(b, &c)
		p, _ := c["provider"].(string)
		return p
	}

	minted := map[string]string{}
	for _, route := range []string{"ripple", "wave"} {
		a := call("POST", "/"+route+"/token")
		tok, _ := a.body["access_token"].(string)
		if a.status != 200 || tok == "" {
			t.Fatalf("POST /%s/token: got %v", route, a)
		}
		minted[route] = tok
		if a := call("GET", "/"+route+"/api/items", "Authorization", "Bearer "+tok); a.status != 200 {
			t.Fatalf("GET /%s/api/items: got %v", route, a)
		}
	}
	if got := rippleAPI.Received(); len(got) != 1 || provOf(got[0].Headers["Authorization"][0]) != "alphaus-ripple" {
		t.Errorf("the Ripple API received %d calls, want 1 with Ripple's token", len(got))
	}
	if got := waveAPI.Received(); len(got) != 1 || provOf(got[0].Headers["Authorization"][0]) != "alphaus-wave" {
		t.Errorf("the Wave API received %d calls, want 1 with Wave's token", len(got))
	}
	if a := call("GET", "/wave/api/items", "Authorization", "Bearer "+minted["ripple"]); a.status != 401 || len(waveAPI.Received()) != 1 {
		t.Errorf("a Ripple token on /wave/api: got %v (Wave API calls %d), want 401 and the API untouched", a, len(waveAPI.Received()))
	}
	if a := call("POST", "/aluma/token"); a.status != 200 || provOf("Bearer "+fmt.Sprint(a.body["access_token"])) != "aluma" {
		t.Errorf("POST /aluma/token: got %v, want Aluma's token", a)
	}
	if a := call("POST", "/broken/token"); a.status != 500 || a.body["error"] != "misconfigured" ||
		!strings.HasPrefix(fmt.Sprint(a.body["error_description"]), "BROKEN_CLIENT_SECRET ") {
		t.Errorf("POST /broken/token: got %v, want 500 misconfigured naming BROKEN_CLIENT_SECRET", a)
	}
	profiles := map[string]int{}
	for _, r := range demo.Requests() {
		profiles[r.Profile]++
	}
	if profiles["alphaus-ripple"] != 1 || profiles["alphaus-wave"] != 1 || profiles["aluma"] != 1 {
		t.Errorf("provider requests by profile: got %v, want one each for alphaus-ripple, alphaus-wave and aluma", profiles)
	}

	// The module: a route's worker URL, and a relative fetch to its API.
	b := harness.NewTab(t, chromium)
	b.WaitLoaded(page.URL + "/web/")
	out := harness.Eval[string](b, fmt.Sprintf(`(async () => {
		const th = await (await import("/web/tokenhelper.mjs")).load();
		const src = th.createTokenSource({ worker: %q });
		const res = await src.fetch("/api/items?from=module");
		return res.status + " " + (await res.text());
	})()`, w.URL+"/ripple/token"))
	if !strings.HasPrefix(out, "200 ") || !strings.Contains(out, "from=module") {
		t.Errorf("the module's fetch(\"/api/items\") on the ripple route: got %.200s", out)
	}
	if n := len(rippleAPI.Received()); n != 2 {
		t.Errorf("the Ripple API got %d calls, want 2 (one from the module)", n)
	}
}
