//go:build !js

package worker_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestMisconfiguration: every invalid setting answers 500 misconfigured
// naming the variable and never its value.
func TestMisconfiguration(t *testing.T) {
	f := newFixture(t)
	keys := newCallerKeys(t)
	caller := callerEnv(keys, f.env)
	tests := []struct {
		name    string
		env     env
		wantVar string
		value   string // must not appear in the answer
	}{
		{"no allowed origins", f.env.with(worker.VarAllowedOrigins, ""), "ALLOWED_ORIGINS", ""},
		{"wildcard origin", f.env.with(worker.VarAllowedOrigins, "*"), "ALLOWED_ORIGINS", ""},
		{"origin with path", f.env.with(worker.VarAllowedOrigins, "https://app.example.com/secret-path-value"), "ALLOWED_ORIGINS", "secret-path-value"},
		{"unknown provider", f.env.with(worker.VarProvider, "provider-value-xyz"), "TOKEN_PROVIDER", "provider-value-xyz"},
		{"no provider, no URL", f.env.with(worker.VarProvider, "", worker.VarTokenURL, ""), "TOKEN_PROVIDER", ""},
		{"custom without URL", f.env.with(worker.VarProvider, "custom", worker.VarTokenURL, ""), "TOKEN_URL", ""},
		{"http URL off loopback", f.env.with(worker.VarTokenURL, "http://tokens.example.com/url-value"), "TOKEN_URL", "url-value"},
		{"URL not absolute", f.env.with(worker.VarTokenURL, "/relative-value"), "TOKEN_URL", "relative-value"},
		{"unknown encoding", f.env.with(worker.VarEncoding, "xml-value"), "TOKEN_ENCODING", "xml-value"},
		{"encoding the profile forbids", f.env.with(worker.VarEncoding, "json"), "TOKEN_ENCODING", ""},
		{"unknown auth style", f.env.with(worker.VarAuthStyle, "digest-value"), "TOKEN_AUTH", "digest-value"},
		{"basic auth for a profile", f.env.with(worker.VarAuthStyle, "basic"), "TOKEN_AUTH", ""},
		{"unknown grant", f.env.with(worker.VarGrantType, "grant-value-xyz"), "GRANT_TYPE", "grant-value-xyz"},
		{"refresh_token grant", f.env.with(worker.VarGrantType, "refresh_token"), "GRANT_TYPE", ""},
		{"grant the profile lacks", f.env.with(worker.VarProvider, "aluma", worker.VarGrantType, "password",
			worker.VarUsername, "u", worker.VarPassword, password), "GRANT_TYPE", ""},
		{"no client id", f.env.with(worker.VarClientID, ""), "CLIENT_ID", ""},
		{"no client secret", f.env.with(worker.VarClientSecret, ""), "CLIENT_SECRET", ""},
		{"basic without secret", f.env.with(worker.VarProvider, "custom", worker.VarAuthStyle, "basic", worker.VarClientSecret, ""), "CLIENT_SECRET", ""},
		{"password grant without username", f.env.with(worker.VarGrantType, "password", worker.VarPassword, password), "USERNAME", ""},
		{"password grant without password", f.env.with(worker.VarGrantType, "password", worker.VarUsername, "demo-user"), "PASSWORD", ""},
		{"mint without a signing key", f.env.with(worker.VarMode, "mint", worker.VarUpstream, "https://api.example.com"), "SIGNING_KEY", ""},
		{"mint with a short HS256 key", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, "short-key-value", worker.VarUpstream, "https://api.example.com"), "SIGNING_KEY", "short-key-value"},
		{"mint with a broken PEM key", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, "-----BEGIN PRIVATE KEY-----\nkey-value-xyz\n-----END PRIVATE KEY-----", worker.VarUpstream, "https://api.example.com"), "SIGNING_KEY", "key-value-xyz"},
		{"mint without an upstream", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey), "UPSTREAM_API_URL", ""},
		{"mint with an http upstream", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, "http://api.example.com/upstream-value"), "UPSTREAM_API_URL", "upstream-value"},
		{"mint with a TTL too long", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, "https://api.example.com", worker.VarTokenTTL, "86400"), "TOKEN_TTL", "86400"},
		{"mint with a previous key but no rotation time", f.env.with(worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, "https://api.example.com", worker.VarPreviousKey, mintKey+"-old"), "SIGNING_KEY_ROTATED_AT", ""},
		{"unknown mode", f.env.with(worker.VarMode, "mode-value-xyz"), "MODE", "mode-value-xyz"},
		{"rate limit period not 10 or 60", f.env.with(worker.VarRateLimitPeriod, "30s-value"), "RATE_LIMIT_PERIOD", "30s-value"},
		{"caller issuer without JWKS", f.env.with(worker.VarCallerIssuer, "https://issuer-value.example"), "CALLER_JWKS_URL", "issuer-value"},
		{"caller JWKS over http", caller.with(worker.VarCallerJWKSURL, "http://jwks-value.example/certs"), "CALLER_JWKS_URL", "jwks-value"},
		{"caller JWKS without issuer", caller.with(worker.VarCallerIssuer, ""), "CALLER_ISSUER", ""},
		{"caller JWKS without audience", caller.with(worker.VarCallerAudience, ""), "CALLER_AUDIENCE", ""},
		{"caller header not a name", caller.with(worker.VarCallerHeader, "Bad Header:value"), "CALLER_JWT_HEADER", "Bad Header"},
		{"resource not absolute", f.env.with(worker.VarResource, "https://api.example.com/ relative-resource-value"), "RESOURCE", "relative-resource-value"},
		{"resource with a fragment", f.env.with(worker.VarResource, "https://api.example.com/#frag-value"), "RESOURCE", "frag-value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(f.handler(tc.env), "POST", "/token", testOrigin)
			m := wantError(t, w, http.StatusInternalServerError, "misconfigured")
			desc, _ := m["error_description"].(string)
			if !strings.HasPrefix(desc, tc.wantVar+" ") {
				t.Errorf("error_description: got %q, want it to start with %s", desc, tc.wantVar)
			}
			if tc.value != "" && strings.Contains(w.Body.String(), tc.value) {
				t.Errorf("answer holds the setting's value %q: %s", tc.value, w.Body)
			}
			if _, err := worker.Load(tc.env.get); err == nil {
				t.Error("Load: got no error")
			}
		})
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}

// TestMisconfiguredCORS: with valid ALLOWED_ORIGINS the page can read the
// 500; other origins still get 403 and learn nothing.
func TestMisconfiguredCORS(t *testing.T) {
	f := newFixture(t)
	e := f.env.with(worker.VarClientSecret, "")
	w := f.do(f.handler(e), "POST", "/token", testOrigin)
	wantError(t, w, http.StatusInternalServerError, "misconfigured")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
		t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, testOrigin)
	}
	wantError(t, f.do(f.handler(e), "POST", "/token", "https://evil.example"), http.StatusForbidden, "origin_not_allowed")
}

func TestLoadValid(t *testing.T) {
	f := newFixture(t)
	s, err := worker.Load(f.env.get)
	if err != nil {
		t.Fatal(err)
	}
	if s.Token.Scope != "openid" || s.Token.GrantType != "client_credentials" || len(s.Origins) != 2 || s.Caller != nil {
		t.Errorf("settings: got %+v", s)
	}
}

// TestResourcePerRoute: RESOURCE (space-separated) reaches the provider
// as one resource parameter each, per route with the route's prefix
// (the shared one for a route without its own), and the provider's
// token carries it as aud; a bad route's RESOURCE is 500 misconfigured
// naming that route's variable, and leaves the other routes serving.
func TestResourcePerRoute(t *testing.T) {
	f := newFixture(t)
	a, b, shared := "https://a.example.com/", "https://b.example.com/v1", "https://shared.example.com/"
	custom := f.srv.URL + demoprovider.Path("custom")
	e := env{
		worker.VarRoutes: "one,two,three", worker.VarAllowedOrigins: testOrigin,
		worker.VarProvider: "custom", worker.VarTokenURL: custom,
		worker.VarClientID: demoprovider.DefaultClientID, worker.VarClientSecret: secret,
		worker.VarResource: shared,
		"ONE_RESOURCE":     a + "  " + b,
		"THREE_RESOURCE":   "https://c.example.com/ not-a-uri-value",
	}
	rt := f.router(e)
	for _, tc := range []struct {
		route, want string
		aud         any
	}{{"one", a + " " + b, []any{a, b}}, {"two", shared, shared}} {
		w := f.do(rt, "POST", workerURL+"/"+tc.route+"/token", testOrigin)
		if w.Code != 200 {
			t.Fatalf("POST /%s/token: got %d %s", tc.route, w.Code, w.Body)
		}
		reqs := f.demo.Requests()
		if got := reqs[len(reqs)-1].Fields["resource"]; got != tc.want {
			t.Errorf("/%s: the provider received resource %q, want %q", tc.route, got, tc.want)
		}
		in, err := tokenhelper.Inspect(decode(t, w)["access_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if got := in.Claims["aud"]; fmt.Sprint(got) != fmt.Sprint(tc.aud) {
			t.Errorf("/%s: aud %v, want %v", tc.route, got, tc.aud)
		}
	}
	w := f.do(rt, "POST", workerURL+"/three/token", testOrigin)
	m := wantError(t, w, http.StatusInternalServerError, "misconfigured")
	if desc, _ := m["error_description"].(string); desc != "THREE_RESOURCE must be space-separated absolute URIs without a fragment (RFC 8707 resource indicators)" || strings.Contains(w.Body.String(), "not-a-uri-value") {
		t.Errorf("/three: got %s, want THREE_RESOURCE named without its value", w.Body)
	}
	if err := worker.CheckSettings(e.get); err == nil || !strings.HasPrefix(err.Error(), "THREE_RESOURCE ") {
		t.Errorf("CheckSettings: got %v, want THREE_RESOURCE", err)
	}
	if n := f.demo.Count(); n != 2 {
		t.Errorf("provider requests: got %d, want 2", n)
	}
}
