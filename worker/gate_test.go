//go:build !js

package worker_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/worker"
)

func TestCallerGate(t *testing.T) {
	f := newFixture(t)
	keys := newCallerKeys(t)
	e := callerEnv(keys, f.env)
	now := f.clock.Now()
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	foreign := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": callerIssuer, "aud": callerAudience,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	foreign.Header["kid"] = "k1"
	foreignJWT, _ := foreign.SignedString(otherKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": callerIssuer, "aud": callerAudience,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	hsJWT, _ := hs.SignedString([]byte("guessable-hmac-key-guessable-hmac-key"))

	tests := []struct {
		name   string
		header string
		value  string
		reason string
	}{
		{"missing", "", "", "required"},
		{"not bearer", "Authorization", "Basic " + keys.Sign(now, nil), "required"},
		{"wrong audience", "Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["aud"] = "other-app" }), "wrong audience"},
		{"wrong issuer", "Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), "wrong issuer"},
		{"expired", "Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
		}), "expired"},
		{"no exp", "Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { delete(c, "exp") }), "claim is missing"},
		{"alg none", "Authorization", "Bearer " + keys.Unsigned(now), "not accepted"},
		{"HS256", "Authorization", "Bearer " + hsJWT, "not accepted"},
		{"other key", "Authorization", "Bearer " + foreignJWT, "signature"},
		{"malformed", "Authorization", "Bearer not.a.jwt", "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.header != "" {
				hdr = []string{tc.header, tc.value}
			}
			w := f.do(f.handler(e), "POST", "/token", testOrigin, hdr...)
			m := wantError(t, w, http.StatusUnauthorized, "invalid_token")
			if d, _ := m["error_description"].(string); !strings.Contains(d, tc.reason) {
				t.Errorf("error_description: got %q, want it to contain %q", d, tc.reason)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate: got %q", got)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, testOrigin)
			}
		})
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests for refused callers: got %d, want 0", n)
	}
	for range 3 {
		w := f.do(f.handler(e), "POST", "/token", testOrigin, "Authorization", "Bearer "+keys.Sign(now, nil))
		if w.Code != 200 {
			t.Fatalf("valid caller: got %d, want 200 (%s)", w.Code, w.Body)
		}
	}
	// Unknown kids ask for the JWKS again at most once a minute.
	if n := keys.Fetches(); n != 1 {
		t.Errorf("JWKS fetches: got %d, want 1 (cached in the Store)", n)
	}
}

func TestCallerGateCustomHeader(t *testing.T) {
	f := newFixture(t)
	keys := newCallerKeys(t)
	e := callerEnv(keys, f.env).with(worker.VarCallerHeader, "Cf-Access-Jwt-Assertion")
	w := f.do(f.handler(e), "OPTIONS", "/token", testOrigin)
	if !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Cf-Access-Jwt-Assertion") {
		t.Errorf("Access-Control-Allow-Headers: got %q, want the caller header", w.Header().Get("Access-Control-Allow-Headers"))
	}
	if got := w.Header().Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Access-Control-Allow-Credentials with the caller gate: got %q, want true", got)
	}
	if got := f.do(f.handler(f.env), "OPTIONS", "/token", testOrigin).Header().Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials without the caller gate: got %q, want none", got)
	}
	w = f.do(f.handler(e), "POST", "/token", testOrigin, "Cf-Access-Jwt-Assertion", keys.Sign(f.clock.Now(), nil))
	if w.Code != 200 {
		t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
	}
	w = f.do(f.handler(e), "POST", "/token", testOrigin, "Authorization", "Bearer "+keys.Sign(f.clock.Now(), nil))
	wantError(t, w, http.StatusUnauthorized, "invalid_token")
}

func TestCallerJWKSDown(t *testing.T) {
	f := newFixture(t)
	keys := newCallerKeys(t)
	e := callerEnv(keys, f.env)
	keys.Close()
	w := f.do(f.handler(e), "POST", "/token", testOrigin, "Authorization", "Bearer "+keys.Sign(f.clock.Now(), nil))
	wantError(t, w, http.StatusServiceUnavailable, "network")
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
}
