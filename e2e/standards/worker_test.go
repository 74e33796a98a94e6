//go:build unix

package standardse2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

const origin = "https://app.example.com"

// TestWorkerResourceAtOIDCProvider: the worker bundle in bare workerd,
// mode pass, routes at oidc-provider: RESOURCE the server knows (its
// token, handed out, has that aud), one it does not (the provider's
// invalid_target reaches the page as a 502 with the provider's
// description), the known one with TOKEN_ENCODING=multipart (refused by
// the server), and a relative one (500 misconfigured naming
// BAD_RESOURCE, not its value, without a request).
func TestWorkerResourceAtOIDCProvider(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	p := startOIDC(t)
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "standards", Src: bundle, Files: devrun.BundleFiles, Vars: map[string]string{
		worker.VarRoutes:                  "known,unknown,multipart,bad",
		worker.VarProvider:                "custom",
		worker.VarTokenURL:                p.issuer + "/token",
		worker.VarEncoding:                "form",
		worker.VarClientID:                clientID,
		worker.VarClientSecret:            clientSecret,
		worker.VarAllowedOrigins:          origin,
		worker.VarResource:                resource,
		"UNKNOWN_" + worker.VarResource:   unknown,
		"MULTIPART_" + worker.VarEncoding: "multipart",
		"BAD_" + worker.VarResource:       "relative/resource-value",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	post := func(route string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+"/"+route+"/token", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /%s/token: %v", route, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if strings.Contains(string(b), clientSecret) {
			t.Errorf("/%s: the answer holds the client secret", route)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("POST /%s/token: %d %s", route, res.StatusCode, b)
		}
		t.Logf("POST /%s/token: %d %.160s", route, res.StatusCode, b)
		return res.StatusCode, m
	}

	status, m := post("known")
	tok, _ := m["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("/known: got %d %v", status, m)
	}
	p.audience(t, tok, resource)

	for _, tc := range []struct{ route, code, desc string }{
		{"unknown", "invalid_target", "resource indicator is missing, or unknown"},
		{"multipart", "invalid_request", "only application/x-www-form-urlencoded content-type bodies are supported"},
	} {
		status, m := post(tc.route)
		desc, _ := m["error_description"].(string)
		if status != 502 || m["access_token"] != nil || m["error"] != tc.code || !strings.Contains(desc, tc.desc) {
			t.Errorf("/%s: got %d %v, want 502 %s with %q", tc.route, status, m, tc.code, tc.desc)
		}
	}
	status, m = post("bad")
	if desc, _ := m["error_description"].(string); status != 500 || m["error"] != "misconfigured" || !strings.HasPrefix(desc, "BAD_RESOURCE must be space-separated absolute URIs") || strings.Contains(desc, "resource-value") {
		t.Errorf("/bad: got %d %v, want 500 misconfigured naming BAD_RESOURCE without its value", status, m)
	}
}

// TestWorkerAssertionsAtOIDCProvider: the worker bundle in bare workerd,
// mode pass, configured with ISSUER only: it discovers the token endpoint
// and gets tokens with TOKEN_AUTH=private_key_jwt (CLIENT_ASSERTION_KEY,
// a secret) and client_secret_jwt; a bad key is a 500 misconfigured
// naming CLIENT_ASSERTION_KEY without its value.
func TestWorkerAssertionsAtOIDCProvider(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	p := startOIDC(t)
	k := clientKeys(t).keys[1] // Ed25519
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "standards", Src: bundle, Files: devrun.BundleFiles, Vars: map[string]string{
		worker.VarRoutes:                   "pkjwt,csjwt,badkey",
		worker.VarIssuer:                   p.issuer,
		worker.VarAllowedOrigins:           origin,
		worker.VarResource:                 resource,
		"PKJWT_" + worker.VarClientID:      clientID + "-pkjwt",
		"PKJWT_" + worker.VarAuthStyle:     "private_key_jwt",
		"PKJWT_" + worker.VarAssertionKey:  k.pem,
		"PKJWT_" + worker.VarAssertionKID:  k.kid,
		"CSJWT_" + worker.VarClientID:      clientID + "-csjwt",
		"CSJWT_" + worker.VarAuthStyle:     "client_secret_jwt",
		"CSJWT_" + worker.VarClientSecret:  clientSecret,
		"BADKEY_" + worker.VarClientID:     clientID + "-pkjwt",
		"BADKEY_" + worker.VarAuthStyle:    "private_key_jwt",
		"BADKEY_" + worker.VarAssertionKey: "-----BEGIN PRIVATE KEY-----\nbad-key-value\n-----END PRIVATE KEY-----\n",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	post := func(route string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+"/"+route+"/token", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /%s/token: %v", route, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if strings.Contains(string(b), clientSecret) || strings.Contains(string(b), "bad-key-value") {
			t.Errorf("/%s: the answer holds a secret", route)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("POST /%s/token: %d %s", route, res.StatusCode, b)
		}
		t.Logf("POST /%s/token: %d %.160s", route, res.StatusCode, b)
		return res.StatusCode, m
	}
	for _, route := range []string{"pkjwt", "csjwt"} {
		status, m := post(route)
		tok, _ := m["access_token"].(string)
		if status != 200 || tok == "" {
			t.Fatalf("/%s: got %d %v", route, status, m)
		}
		p.audience(t, tok, resource)
	}
	status, m := post("badkey")
	if desc, _ := m["error_description"].(string); status != 500 || m["error"] != "misconfigured" || !strings.HasPrefix(desc, "BADKEY_CLIENT_ASSERTION_KEY must be a PEM private key") {
		t.Errorf("/badkey: got %d %v, want 500 misconfigured naming BADKEY_CLIENT_ASSERTION_KEY", status, m)
	}
}

// TestWorkerDPoPAtOIDCProvider: the worker bundle in bare workerd, mode
// mint, with TOKEN_DPOP_KEY (a secret): its provider token from
// oidc-provider (nonces required, a dpop_bound_access_tokens client) is
// bound to the Worker's key, and the /api/ call upstream carries it as
// Authorization: DPoP with a proof for that call, which an API checking
// proofs accepts; the minted token the page holds is not the provider's.
func TestWorkerDPoPAtOIDCProvider(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	p := startOIDC(t)
	api := newBoundAPI(t, p)
	api.nonce = "" // the plan path cannot resend with an API's nonce yet (see apiproxy.NonceHeader)
	key, err := dpop.GeneratePEM()
	if err != nil {
		t.Fatal(err)
	}
	prover, _ := dpop.ParsePEM(key)
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "standards", Src: bundle, Files: devrun.BundleFiles, Vars: map[string]string{
		worker.VarProvider:       "custom",
		worker.VarTokenURL:       p.issuer + "/token",
		worker.VarClientID:       clientID + "-dpop",
		worker.VarClientSecret:   clientSecret,
		worker.VarResource:       resource,
		worker.VarTokenDPoPKey:   string(key),
		worker.VarAllowedOrigins: origin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     "standards-signing-key-of-32-bytes-or-more",
		worker.VarUpstream:       api.URL + "/v1",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	send := func(method, path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, w.URL+path, nil)
		req.Header.Set("Origin", origin)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if strings.Contains(string(b), clientSecret) || strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("%s %s: the answer holds a secret", method, path)
		}
		return res.StatusCode, string(b)
	}
	status, body := send("POST", "/token")
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	minted, _ := m["access_token"].(string)
	if status != 200 || minted == "" {
		t.Fatalf("POST /token: got %d %s", status, body)
	}
	for _, q := range []string{"a=1", "b=2"} {
		if status, body := send("GET", "/api/items?"+q, "Authorization", "Bearer "+minted); status != 200 || body != "hello "+q {
			t.Errorf("GET /api/items?%s: got %d %q, want 200 from the API", q, status, body)
		}
	}
	if got := api.verdicts(); got != "ok,ok" {
		t.Errorf("API verdicts: got %s, want ok,ok (a DPoP-bound token with a good proof each time)", got)
	}
	if _, err := verify.JWT(minted, p.keys, verify.Options{}); err == nil {
		t.Error("the page holds the provider's token")
	}
	t.Logf("the worker's key: %s", prover.Thumbprint())
}
