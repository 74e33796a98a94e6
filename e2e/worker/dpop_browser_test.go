//go:build unix

package workere2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestDPoPPageThroughBareWorkerd: the JS module in headless Chromium,
// with { worker, dpop: true }, against the worker bundle in bare workerd
// with DPOP=required: the page's own calls work (the POST to /token and
// /api/ calls each with a WebCrypto proof, through CORS preflights); the
// DPoP-bound token copied out of the page and replayed from outside,
// without a proof, as Bearer, with another key's proof, with the page's
// used proof, or with a proof for another URL or method, gets 401 with a
// DPoP challenge while the upstream API sees none of them; and all of it
// costs the provider one request.
func TestDPoPPageThroughBareWorkerd(t *testing.T) {
	chromium, dist := browserPrereqs(t)
	bundle := harness.WorkerBundle(t, false)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	var upstreamCalls atomic.Int64
	api := &demoapi.API{Keys: keys}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamCalls.Add(1)
		api.ServeHTTP(w, r)
	}))
	defer upstream.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	_, key := testkeys.Ed25519(t)
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     strings.TrimSpace(key),
		worker.VarUpstream:       upstream.URL + "/v1",
		worker.VarDPoP:           worker.DPoPRequired,
	}
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "dpop", Src: bundle, Files: devrun.BundleFiles, Vars: vars})

	b := harness.NewTab(t, chromium)
	b.Run(30*time.Second, chromedp.Navigate(page.URL+"/web/"))
	// The page's script: four calls through one source; fetch is wrapped
	// to keep the proofs the module sent (as an XSS payload could).
	got := harness.Eval[string](b, fmt.Sprintf(`(async () => {
		const { load } = await import("/web/tokenhelper.mjs");
		const th = await load();
		const proofs = [];
		const orig = globalThis.fetch;
		globalThis.fetch = (req, init) => {
			if (req instanceof Request && req.headers.get("DPoP")) proofs.push({ method: req.method, url: req.url, proof: req.headers.get("DPoP") });
			return orig(req, init);
		};
		const src = th.createTokenSource({ worker: %q, dpop: true });
		const statuses = [];
		for (const [path, init] of [["/api/items?id=1"], ["/api/items?id=2"], ["/api/items", { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } }], ["/api/other"]]) {
			const res = await src.fetch(path, init);
			statuses.push(res.status);
			await res.text();
		}
		const tok = await src.getToken();
		return JSON.stringify({ statuses, type: tok.token_type, token: tok.access_token, proofs });
	})()`, w.URL+"/token"))
	var page1 struct {
		Statuses []int
		Type     string
		Token    string
		Proofs   []struct{ Method, URL, Proof string }
	}
	if err := json.Unmarshal([]byte(got), &page1); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if fmt.Sprint(page1.Statuses) != "[200 200 200 200]" || page1.Type != "DPoP" || len(page1.Proofs) != 4 {
		t.Fatalf("the page's own calls: statuses %v, token_type %q, %d proofs; want four 200s with DPoP\nconsole:\n%s\nworker:\n%s",
			page1.Statuses, page1.Type, len(page1.Proofs), text(b.Console()), w.Log())
	}
	if n := upstreamCalls.Load(); n != 4 {
		t.Fatalf("upstream calls after the page's: got %d, want 4", n)
	}

	// The key is non-extractable, and the same after a reload (IndexedDB).
	keyOf := `(async () => {
		const { dpopKey } = await import("/web/crypto.mjs");
		const { privateKey, jwk } = await dpopKey();
		let exported = true;
		await crypto.subtle.exportKey("jwk", privateKey).catch(() => { exported = false; });
		return JSON.stringify({ extractable: privateKey.extractable || exported, jwk });
	})()`
	before := harness.Eval[string](b, keyOf)
	b.Run(30*time.Second, chromedp.Navigate(page.URL+"/web/?reloaded"))
	after := harness.Eval[string](b, keyOf)
	if before != after || !strings.Contains(before, `"extractable":false`) || !strings.Contains(before, `"crv":"P-256"`) {
		t.Errorf("the DPoP key: before a reload %s, after %s; want one non-extractable P-256 key", before, after)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(page1.Proofs[0].Proof, ".")[0])
	var h struct{ JWK json.RawMessage }
	json.Unmarshal(header, &h)
	if !strings.Contains(after, string(h.JWK)) {
		t.Errorf("the page's proofs carry %s, want the stored key %s", h.JWK, after)
	}

	// The copied token, replayed from outside the page.
	tok, used := page1.Token, page1.Proofs[0].Proof // used: GET /api/items
	thief, _ := dpop.GenerateProver()
	thiefProof := func(method, path string) string {
		p, err := thief.Proof(method, w.URL+path, tok)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, method, path string
		hdr                []string
	}{
		{"no proof", "GET", "/api/items", []string{"Authorization", "DPoP " + tok}},
		{"as Bearer", "GET", "/api/items", []string{"Authorization", "Bearer " + tok}},
		{"another key's proof", "GET", "/api/items", []string{"Authorization", "DPoP " + tok, "DPoP", thiefProof("GET", "/api/items")}},
		{"the page's used proof", "GET", "/api/items", []string{"Authorization", "DPoP " + tok, "DPoP", used}},
		{"the page's proof for another URL", "GET", "/api/secret", []string{"Authorization", "DPoP " + tok, "DPoP", used}},
		{"the page's proof for another method", "DELETE", "/api/items", []string{"Authorization", "DPoP " + tok, "DPoP", used}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range cases {
		req, _ := http.NewRequestWithContext(ctx, tc.method, w.URL+tc.path, nil)
		req.Header.Set("Origin", page.URL)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c := res.Header.Get("WWW-Authenticate"); res.StatusCode != 401 || !strings.HasPrefix(c, "DPoP error=") {
			t.Errorf("%s: got %d %q %s, want 401 with a DPoP challenge", tc.name, res.StatusCode, c, body)
		}
	}
	if n := upstreamCalls.Load(); n != 4 {
		t.Errorf("upstream calls after the replays: got %d, want still 4", n)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
	t.Logf("page: 4 calls with proofs, 200; %d replays of the copied token tried; upstream %d calls, provider %d request(s)",
		len(cases), upstreamCalls.Load(), demo.Count())
}
