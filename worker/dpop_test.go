//go:build !js

package worker_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/worker"
)

// prover is a DPoP key on the fixture's clock.
func (f *mintFixture) prover() *dpop.Prover {
	f.t.Helper()
	p, err := dpop.GenerateProver()
	if err != nil {
		f.t.Fatal(err)
	}
	p.Now = f.clock.Now
	return p
}

// proof is p's proof for method on the worker's path, for token.
func proof(t *testing.T, p *dpop.Prover, method, path, token string) string {
	t.Helper()
	s, err := p.Proof(method, workerURL+path, token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mintBound gets a DPoP-bound token from e for p's key.
func (f *mintFixture) mintBound(e env, p *dpop.Prover) string {
	f.t.Helper()
	w := f.send(e, "POST", "/token", testOrigin, "DPoP", proof(f.t, p, "POST", "/token", ""))
	if w.Code != 200 {
		f.t.Fatalf("POST /token with a proof: got %d %s", w.Code, w.Body)
	}
	body := decode(f.t, w)
	if body["token_type"] != "DPoP" {
		f.t.Fatalf("token_type: got %v, want DPoP", body["token_type"])
	}
	return body["access_token"].(string)
}

func TestDPoPBindsTheMintedToken(t *testing.T) {
	for _, mode := range []string{"", worker.DPoPAllowed, worker.DPoPRequired} {
		t.Run("DPOP="+mode, func(t *testing.T) {
			f := newMintFixture(t, mintKey)
			e := f.env.with(worker.VarDPoP, mode)
			p := f.prover()
			tok := f.mintBound(e, p)
			claims := jwt.MapClaims{}
			jwt.NewParser().ParseUnverified(tok, claims)
			if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != p.Thumbprint() {
				t.Errorf("cnf: got %v, want jkt %s", claims["cnf"], p.Thumbprint())
			}
			// Twice: the second call takes the verified-token cache's path.
			for i := range 2 {
				w := f.send(e, "GET", "/api/items?id=7", testOrigin, "Authorization", "DPoP "+tok, "DPoP", proof(t, p, "GET", "/api/items", tok))
				if w.Code != 200 {
					t.Fatalf("call %d with a proof: got %d %s", i, w.Code, w.Body)
				}
			}
			got := f.api.Received()
			if len(got) != 2 || got[0].Headers["Dpop"] != nil {
				t.Errorf("API saw %d calls, DPoP header %v; want 2 calls, no DPoP header", len(got), got[0].Headers["Dpop"])
			}
		})
	}
}

func TestDPoPRefusesAndNeverCallsUpstream(t *testing.T) {
	f := newMintFixture(t, mintKey)
	e := f.env.with(worker.VarDPoP, worker.DPoPRequired)
	p, other := f.prover(), f.prover()
	tok := f.mintBound(e, p)
	used := proof(t, p, "GET", "/api/items", tok)
	if w := f.send(e, "GET", "/api/items", testOrigin, "Authorization", "DPoP "+tok, "DPoP", used); w.Code != 200 {
		t.Fatalf("the first use: got %d %s", w.Code, w.Body)
	}
	bearer := f.mint(testOrigin) // a bearer token under DPOP=allowed, same key
	late := *p
	late.Now = func() time.Time { return f.clock.Now().Add(-dpop.DefaultMaxAge - time.Second) }
	old := proof(t, &late, "GET", "/api/items", tok)

	cases := []struct {
		name string
		hdr  []string
		code string
	}{
		{"no proof", []string{"Authorization", "DPoP " + tok}, "invalid_dpop_proof"},
		{"as Bearer with a proof", []string{"Authorization", "Bearer " + tok, "DPoP", proof(t, p, "GET", "/api/items", tok)}, "invalid_token"},
		{"as Bearer without a proof", []string{"Authorization", "Bearer " + tok}, "invalid_token"},
		{"another key's proof", []string{"Authorization", "DPoP " + tok, "DPoP", proof(t, other, "GET", "/api/items", tok)}, "invalid_dpop_proof"},
		{"a replayed proof", []string{"Authorization", "DPoP " + tok, "DPoP", used}, "invalid_dpop_proof"},
		{"a proof too old", []string{"Authorization", "DPoP " + tok, "DPoP", old}, "invalid_dpop_proof"},
		{"a proof for another path", []string{"Authorization", "DPoP " + tok, "DPoP", proof(t, p, "GET", "/api/other", tok)}, "invalid_dpop_proof"},
		{"a proof for another method", []string{"Authorization", "DPoP " + tok, "DPoP", proof(t, p, "POST", "/api/items", tok)}, "invalid_dpop_proof"},
		{"a proof for another token", []string{"Authorization", "DPoP " + tok, "DPoP", proof(t, p, "GET", "/api/items", bearer)}, "invalid_dpop_proof"},
		{"a proof without ath", []string{"Authorization", "DPoP " + tok, "DPoP", proof(t, p, "GET", "/api/items", "")}, "invalid_dpop_proof"},
		{"a bearer token with DPOP=required", []string{"Authorization", "Bearer " + bearer}, "invalid_token"},
		{"a bearer token posing as DPoP", []string{"Authorization", "DPoP " + bearer, "DPoP", proof(t, p, "GET", "/api/items", bearer)}, "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.api.Received())
			w := f.send(e, "GET", "/api/items", testOrigin, tc.hdr...)
			wantError(t, w, http.StatusUnauthorized, tc.code)
			if c := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(c, `DPoP error="`+tc.code+`"`) {
				t.Errorf("WWW-Authenticate: got %q, want a DPoP %s challenge", c, tc.code)
			}
			if n := len(f.api.Received()); n != before {
				t.Errorf("the API was called: %d calls, want %d", n, before)
			}
		})
	}
	t.Run("two DPoP headers", func(t *testing.T) {
		r := httptest.NewRequest("GET", workerURL+"/api/items", nil)
		r.Header.Set("Origin", testOrigin)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Add("DPoP", proof(t, p, "GET", "/api/items", tok))
		r.Header.Add("DPoP", proof(t, p, "GET", "/api/items", tok))
		w := httptest.NewRecorder()
		f.handler(e).ServeHTTP(w, r)
		wantError(t, w, http.StatusUnauthorized, "invalid_dpop_proof")
	})
}

func TestDPoPAtTheTokenEndpoint(t *testing.T) {
	f := newMintFixture(t, mintKey)
	p := f.prover()
	required := f.env.with(worker.VarDPoP, worker.DPoPRequired)
	wantError(t, f.send(required, "POST", "/token", testOrigin), http.StatusBadRequest, "invalid_dpop_proof")
	for name, pr := range map[string]string{
		"for /api/":          proof(t, p, "POST", "/api/token", ""),
		"for GET":            proof(t, p, "GET", "/token", ""),
		"for another origin": func() string { s, _ := p.Proof("POST", "https://evil.example/token", ""); return s }(),
		"garbage":            "not.a.proof",
	} {
		for _, e := range []env{f.env, required} {
			if w := f.send(e, "POST", "/token", testOrigin, "DPoP", pr); w.Code != http.StatusBadRequest {
				t.Errorf("POST /token with a proof %s: got %d, want 400", name, w.Code)
			}
		}
	}
	// A proof at /token is also used once.
	pr := proof(t, p, "POST", "/token", "")
	if w := f.send(required, "POST", "/token", testOrigin, "DPoP", pr); w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	wantError(t, f.send(required, "POST", "/token", testOrigin, "DPoP", pr), http.StatusBadRequest, "invalid_dpop_proof")
	// DPOP=off ignores the header and mints a bearer token.
	off := f.env.with(worker.VarDPoP, worker.DPoPOff)
	w := f.send(off, "POST", "/token", testOrigin, "DPoP", proof(t, p, "POST", "/token", ""))
	if body := decode(t, w); w.Code != 200 || body["token_type"] != "Bearer" {
		t.Errorf("DPOP=off: got %d %v, want a Bearer token", w.Code, body)
	}
	wantError(t, f.send(f.env.with(worker.VarDPoP, "yes"), "POST", "/token", testOrigin), http.StatusInternalServerError, "misconfigured")
}

func TestDPoPPreflights(t *testing.T) {
	f := newMintFixture(t, mintKey)
	for _, path := range []string{"/token", "/api/items"} {
		w := f.send(f.env, "OPTIONS", path, testOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "dpop")
		if w.Code != 204 || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "DPoP") {
			t.Errorf("OPTIONS %s: got %d, Access-Control-Allow-Headers %q; want DPoP allowed", path, w.Code, w.Header().Get("Access-Control-Allow-Headers"))
		}
	}
}
