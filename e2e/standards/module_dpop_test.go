//go:build unix

package standardse2e_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/verify"
)

// corsFor lets a page of origin call h cross-origin the way a DPoP API
// must allow it: the Authorization and DPoP request headers, and
// WWW-Authenticate and DPoP-Nonce exposed (the module reads both to
// answer use_dpop_nonce).
func corsFor(origin string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == origin {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
			w.Header().Set("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, DPoP, Content-Type")
			w.WriteHeader(204)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestModuleDPoPAtOIDCProvider: the JS module in Chromium with
// { issuer, dpop: true } (a custom provider, no Worker): oidc-provider,
// which wants its nonce in every proof, answers the first token request
// use_dpop_nonce and the retry with a DPoP-bound token whose cnf.jkt is
// the thumbprint of the origin's WebCrypto key; src.fetch's calls to an
// API checking the proof (dpop.Checker, CORS) are accepted after one
// use_dpop_nonce of the API's own; a later requestToken reuses the
// provider's nonce (one POST). The token sent without a proof, as a
// bearer token, or with the page's proof for another URL is refused by
// the API. No private key member ("d") is in anything the page sent,
// stored or logged, and the key cannot be exported.
func TestModuleDPoPAtOIDCProvider(t *testing.T) {
	chromium, dist := harness.Chromium(t), harness.Dist()
	harness.Require(t, "Chromium", harness.MissingFiles(dist, "(./build.sh build)", "web/index.html", "web/crypto.mjs", "web/tokenhelper.wasm")...)
	site := httptest.NewServer(devserver.Handler(dist))
	t.Cleanup(site.Close)
	t.Setenv("CORS_ORIGIN", site.URL) // read by startOIDC's server.mjs
	p := startOIDC(t)
	api := &boundAPI{nonce: apiNonce}
	api.Server = httptest.NewServer(corsFor(site.URL, api.handler(p)))
	t.Cleanup(api.Close)

	tab := harness.NewTab(t, chromium)
	if _, err := chromedp.Call(tab.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordSent}); err != nil {
		t.Fatal(err)
	}
	tab.WaitLoaded(site.URL + "/web/")
	js := func(format string, args ...any) string {
		t.Helper()
		return harness.Eval[string](tab, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			try { return await (async () => { %s })(); } catch (e) { return "error:" + e.code + " " + e.message; }
		})()`, fmt.Sprintf(format, args...)))
	}
	opts, _ := json.Marshal(map[string]any{"issuer": p.issuer, "clientId": clientID + "-dpop", "clientSecret": clientSecret,
		"resource": resource, "dpop": true})

	got := js(`window.__src = th.createTokenSource(%s); return JSON.stringify(await window.__src.getToken())`, opts)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(got), &tok); err != nil {
		t.Fatalf("getToken: %s", got)
	}
	claims, err := verify.JWT(tok.AccessToken, p.keys, verify.Options{Issuer: p.issuer, Audience: resource})
	if err != nil {
		t.Fatal(err)
	}
	pageJWK := js(`const { dpopKey } = await import("/web/crypto.mjs"); return JSON.stringify((await dpopKey()).jwk)`)
	cnf, _ := claims["cnf"].(map[string]any)
	if tok.TokenType != "DPoP" || cnf["jkt"] != thumbprint(t, pageJWK) {
		t.Fatalf("got token_type %q, cnf %v; want DPoP bound to the page's key %s", tok.TokenType, claims["cnf"], pageJWK)
	}
	// The tabs share the source's tokens under a name holding the key's
	// thumbprint: a tab with another key (no IndexedDB) gets none of them.
	if locks := js(`return JSON.stringify(await navigator.locks.query())`); !strings.Contains(locks, "~"+thumbprint(t, pageJWK)+":present") {
		t.Errorf("lock names %s: want the key's thumbprint in the source's", locks)
	}
	posts := proofsTo(t, tab, p.issuer+"/token")
	if len(posts) != 2 || posts[0]["nonce"] != nil || posts[1]["nonce"] == nil {
		t.Errorf("token requests' proofs: got %v, want two, the second with the server's nonce", posts)
	}

	for _, q := range []string{"a=1", "b=2"} {
		got := js(`const r = await window.__src.fetch(%q); return r.status + " " + await r.text()`, api.URL+"/v1/items?"+q)
		if got != "200 hello "+q {
			t.Errorf("src.fetch ?%s: got %q, want 200", q, got)
		}
	}
	if got := api.verdicts(); got != "use_dpop_nonce,ok,ok" {
		t.Errorf("API verdicts: got %s, want use_dpop_nonce once, then ok", got)
	}
	for _, c := range proofsTo(t, tab, api.URL+"/v1/items") {
		if c["htm"] != "GET" || c["htu"] != api.URL+"/v1/items" || c["ath"] == nil {
			t.Errorf("API proof claims %v: want htm GET, htu without the query, ath", c)
		}
	}

	// Another token request of the same options: the provider's nonce is
	// remembered, so one POST.
	before := len(proofsTo(t, tab, p.issuer+"/token"))
	if got := js(`return (await th.requestToken(%s)).token_type`, opts); got != "DPoP" {
		t.Errorf("requestToken: got %q, want DPoP", got)
	}
	if n := len(proofsTo(t, tab, p.issuer+"/token")) - before; n != 1 {
		t.Errorf("requestToken with the remembered nonce: %d POSTs, want 1", n)
	}

	// The bound token copied out of the page: refused without its proof.
	otherURL := js(`return await th.dpopProof("GET", %q, %q, %q)`, api.URL+"/v1/other", tok.AccessToken, apiNonce)
	for name, h := range map[string]map[string]string{
		"no proof":              {"Authorization": "DPoP " + tok.AccessToken},
		"as a bearer token":     {"Authorization": "Bearer " + tok.AccessToken},
		"proof for another URL": {"Authorization": "DPoP " + tok.AccessToken, "DPoP": otherURL},
	} {
		req, _ := http.NewRequest("GET", api.URL+"/v1/items", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: got %d, want 401", name, resp.StatusCode)
		}
	}
	if got := strings.Split(api.verdicts(), ","); len(got) != 6 || slices.Contains(got[3:], "ok") {
		t.Errorf("API verdicts: got %s, want only the page's two calls ok", got)
	}

	// The private key: not extractable, and no "d" member anywhere.
	if got := js(`const { dpopKey } = await import("/web/crypto.mjs"); const { privateKey } = await dpopKey();
		const exported = await crypto.subtle.exportKey("jwk", privateKey).then(() => "exported", () => "refused");
		return privateKey.extractable + " " + exported`); got != "false refused" {
		t.Errorf("the DPoP key: extractable, export: got %s, want false refused", got)
	}
	sent := harness.Eval[[]string](tab, `window.__sent`)
	stored := harness.Eval[string](tab, `(async () => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }))()`)
	for _, s := range append(append(sent, stored, pageJWK), tab.Console()...) {
		if strings.Contains(s, `"d":`) {
			t.Errorf("a private key member in: %.200s", s)
		}
	}
	for _, h := range proofHeaders(t, tab) {
		if _, ok := h["jwk"].(map[string]any)["d"]; ok || h["typ"] != "dpop+jwt" || h["alg"] != "ES256" {
			t.Errorf("proof header %v: want typ dpop+jwt, ES256, a public jwk", h)
		}
	}
}

// thumbprint is the RFC 7638 thumbprint of an EC public JWK (JSON).
func thumbprint(t *testing.T, jwk string) string {
	var k struct{ Crv, Kty, X, Y string }
	if err := json.Unmarshal([]byte(jwk), &k); err != nil {
		t.Fatalf("jwk %s: %v", jwk, err)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":%q,"kty":%q,"x":%q,"y":%q}`, k.Crv, k.Kty, k.X, k.Y))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sentProofs decodes the DPoP header of each request the page sent
// (recordSent) to a URL starting with prefix: part 0 the header, 1 the
// claims.
func sentProofs(t *testing.T, tab *harness.Tab, prefix string, part int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range harness.Eval[[]string](tab, `window.__sent`) {
		var r struct {
			URL     string     `json:"url"`
			Headers [][]string `json:"headers"`
		}
		if json.Unmarshal([]byte(s), &r) != nil || !strings.HasPrefix(r.URL, prefix) {
			continue
		}
		for _, h := range r.Headers {
			if len(h) == 2 && h[0] == "dpop" {
				b, _ := base64.RawURLEncoding.DecodeString(strings.Split(h[1], ".")[part])
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("a proof that is not a JWS: %s", h[1])
				}
				out = append(out, m)
			}
		}
	}
	return out
}

func proofsTo(t *testing.T, tab *harness.Tab, url string) []map[string]any {
	return sentProofs(t, tab, url, 1)
}

func proofHeaders(t *testing.T, tab *harness.Tab) []map[string]any {
	return sentProofs(t, tab, "", 0)
}
