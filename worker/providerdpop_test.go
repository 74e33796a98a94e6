//go:build !js

package worker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
	"github.com/tokenhelper/tokenhelper/worker/apiproxy"
)

// providerDPoP is a worker in mode mint with TOKEN_DPOP_KEY, before a
// demo provider (custom profile) and a demo API that both demand DPoP
// proofs carrying their nonce.
type providerDPoP struct {
	*fixture
	api    *demoapi.API
	apiURL string
	key    *dpop.Prover
}

func newProviderDPoP(t *testing.T) *providerDPoP {
	f := newFixture(t)
	f.demo = demoprovider.New(demoprovider.Options{DPoPNonce: "as-nonce"})
	f.srv = httptest.NewServer(f.demo)
	t.Cleanup(f.srv.Close)
	keys, err := verify.ParseJWKS(f.demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	api := &demoapi.API{Keys: keys}
	api.SetDPoPNonce("rs-nonce")
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	pem, err := dpop.GeneratePEM()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := dpop.ParsePEM(pem)
	f.env = f.env.with(worker.VarProvider, "custom", worker.VarTokenURL, f.srv.URL+demoprovider.Path("custom"),
		worker.VarTokenDPoPKey, string(pem),
		worker.VarMode, "mint", worker.VarSigningKey, mintKey, worker.VarUpstream, apiSrv.URL+"/v1", worker.VarTokenTTL, "120")
	return &providerDPoP{fixture: f, api: api, apiURL: apiSrv.URL, key: key}
}

func (f *providerDPoP) minted() string {
	w := f.do(f.handler(f.env), "POST", workerURL+"/token", testOrigin)
	if w.Code != 200 {
		f.t.Fatalf("POST /token: got %d %s", w.Code, w.Body)
	}
	return decode(f.t, w)["access_token"].(string)
}

// statuses lists the demo provider's answers.
func (f *providerDPoP) statuses() string {
	var s []string
	for _, r := range f.demo.Requests() {
		s = append(s, fmt.Sprint(r.Status))
	}
	return strings.Join(s, ",")
}

// TestWorkerProviderDPoP: with TOKEN_DPOP_KEY, the worker's provider
// token is bound to its key (after the provider's use_dpop_nonce), and
// its /api/ call upstream carries "Authorization: DPoP" and a proof by
// that key, sent again once with the API's nonce: the API accepts it.
func TestWorkerProviderDPoP(t *testing.T) {
	f := newProviderDPoP(t)
	tok := f.minted()
	for i := range 2 {
		w := f.do(f.handler(f.env), "GET", workerURL+"/api/items?id=7", testOrigin, "Authorization", "Bearer "+tok)
		if w.Code != 200 {
			t.Fatalf("call %d: got %d %s", i, w.Code, w.Body)
		}
	}
	if got := f.statuses(); got != "400,200" {
		t.Errorf("provider answers: got %s, want 400 (use_dpop_nonce), 200", got)
	}
	got := f.api.Received()
	if len(got) != 2 {
		t.Fatalf("API accepted %d calls, want 2", len(got))
	}
	auth := got[0].Headers["Authorization"][0]
	provTok, _ := strings.CutPrefix(auth, "DPoP ")
	claims := jwt.MapClaims{}
	jwt.NewParser().ParseUnverified(provTok, claims)
	if cnf, _ := claims["cnf"].(map[string]any); !strings.HasPrefix(auth, "DPoP ") || cnf["jkt"] != f.key.Thumbprint() || len(got[0].Headers["Dpop"]) != 1 {
		t.Errorf("upstream call: Authorization %.12q, cnf %v, DPoP %d; want DPoP, bound to the worker's key, one proof", auth, claims["cnf"], len(got[0].Headers["Dpop"]))
	}
}

// The plan (the deployed /api path) carries the proof in its headers;
// the entry module's resend after a use_dpop_nonce 401, with the nonce
// in NonceHeader, gets a plan with the same token and a proof with the
// nonce, not a renewal.
func TestWorkerProviderDPoPPlan(t *testing.T) {
	f := newProviderDPoP(t)
	tok := f.minted()
	plan := func(hdr ...string) apiproxy.Plan {
		t.Helper()
		h := f.handler(f.env)
		h.PlanAPI = true
		w := f.do(h, "POST", workerURL+"/api/items?id=7", testOrigin, append([]string{"Authorization", "Bearer " + tok}, hdr...)...)
		var p apiproxy.Plan
		if err := json.Unmarshal(w.Body.Bytes(), &p); w.Code != 200 || err != nil || p.URL == "" {
			t.Fatalf("plan: got %d %s", w.Code, w.Body)
		}
		return p
	}
	nonceOf := func(p apiproxy.Plan) any {
		claims := jwt.MapClaims{}
		jwt.NewParser().ParseUnverified(p.Header["Dpop"], claims)
		return claims["nonce"]
	}
	first := plan()
	if !strings.HasPrefix(first.Header["Authorization"], "DPoP ") || first.Header["Dpop"] == "" || nonceOf(first) != nil {
		t.Fatalf("first plan: Authorization %.12q, DPoP %.12q, nonce %v; want DPoP, a proof without nonce", first.Header["Authorization"], first.Header["Dpop"], nonceOf(first))
	}
	// Sent as the plan says, the API asks for its nonce.
	req, _ := http.NewRequest(first.Method, first.URL, nil)
	for k, v := range first.Header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("DPoP-Nonce") != "rs-nonce" {
		t.Fatalf("upstream: got %d, nonce %q; want 401 with rs-nonce", resp.StatusCode, resp.Header.Get("DPoP-Nonce"))
	}
	second := plan(apiproxy.RefusedHeader, first.TokenID, apiproxy.NonceHeader, "rs-nonce")
	if second.TokenID != first.TokenID || nonceOf(second) != "rs-nonce" || f.statuses() != "400,200" {
		t.Errorf("after use_dpop_nonce: token %s (first %s), nonce %v, provider %s; want the same token, rs-nonce, no new token request",
			second.TokenID, first.TokenID, nonceOf(second), f.statuses())
	}
}

// TOKEN_DPOP_KEY needs mode mint and a PEM key; its errors name it and
// never quote it.
func TestWorkerProviderDPoPSettings(t *testing.T) {
	f := newProviderDPoP(t)
	for _, e := range []env{
		f.env.with(worker.VarMode, "pass"),
		f.env.with(worker.VarTokenDPoPKey, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0aXNo\n-----END PRIVATE KEY-----"),
		f.env.with(worker.VarProvider, "aluma", worker.VarTokenURL, ""),
	} {
		w := f.do(f.handler(e), "POST", workerURL+"/token", testOrigin)
		body := wantError(t, w, 500, "misconfigured")
		if d, _ := body["error_description"].(string); !strings.HasPrefix(d, worker.VarTokenDPoPKey) || strings.Contains(d, "c2Vj") {
			t.Errorf("got %q, want a description naming %s", d, worker.VarTokenDPoPKey)
		}
	}
}
