//go:build unix

package workere2e_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

// mintTTL is the TOKEN_TTL of the end-to-end test: short, so that the
// page's token expires during the test. The core renews at 10% of the
// lifetime before expiry; the worker accepts a token up to 5 s (its
// leeway) after its exp.
const mintTTL = 6

// mintPageHTML is the test page: it imports the built module (dist/),
// calls /api/items through the worker with a { worker } token source as
// soon as it loads, and once more by itself after the token expired (no
// user action). window.e2e lets the test read the results and send raw
// requests with a token of its choice from the page's origin.
const mintPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenhelper mode mint</title></head>
<body><h1>mode mint through the worker</h1><pre id="log"></pre>
<script type="module">
import { load } from "/tokenhelper.mjs";
const q = new URLSearchParams(location.search);
const worker = q.get("worker");
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
// A cookie of the page's host (127.0.0.1, any port): it must never reach the API.
document.cookie = "page-session=cookie-of-the-page; SameSite=Lax";
const th = await load();
const source = th.createTokenSource({ worker });
async function call(path) {
  try {
    const res = await source.fetch(path, { headers: { Accept: "application/json" } });
    const out = { status: res.status, body: await res.text(), www: "" };
    log(path + " -> " + out.status + " " + out.body);
    return out;
  } catch (e) {
    log(path + " failed: " + e);
    return { status: 0, body: String(e), www: "" };
  }
}
window.e2e = {
  first: await call("/api/items?n=1"),
  second: null,
  token: async () => (await source.getToken()).access_token,
  async raw(path, auth) {
    const res = await fetch(new URL(path, worker), { headers: auth ? { Authorization: auth } : {} });
    return { status: res.status, body: await res.text(), www: res.headers.get("WWW-Authenticate") || "" };
  },
};
setTimeout(async () => { window.e2e.second = await call("/api/items?n=2"); }, Number(q.get("again")));
document.documentElement.dataset.ready = "true";
</script></body></html>
`

// apiAnswer is what the page got from a call.
type apiAnswer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	WWW    string `json:"www"`
}

// TestMintPageThroughWorkerd runs mode mint end to end: the demo provider
// and the demo API in this process, the built worker in workerd, and a
// page in headless Chromium that calls /api/ through the JS module. The
// page gets the API's answer; the API gets the provider's token and none
// of the browser's headers; the page's minted token expires and is
// renewed without a user action; forged, alg none, confused, other-origin,
// expired and provider tokens are refused without contacting the API; and
// the provider token is nowhere in what the browser received (every URL,
// header and body seen through the DevTools protocol), its DOM, console
// or storage.
func TestMintPageThroughWorkerd(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	modulePrereqs(t, dist)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	api := &demoapi.API{Keys: keys}
	var apiHits atomic.Int32 // every request, also those the API refuses
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiHits.Add(1)
		api.ServeHTTP(w, r)
	}))
	defer apiSrv.Close()
	page := httptest.NewServer(mintTestPage(dist))
	defer page.Close()
	const otherOrigin = "https://other-app.example" // allowed too: a token minted for it is not the page's
	signer, signingKey := testkeys.Ed25519(t)
	otherSigner, _ := testkeys.Ed25519(t)
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL + "," + otherOrigin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     dotenvQuoted(signingKey),
		worker.VarTokenTTL:       strconv.Itoa(mintTTL),
		worker.VarUpstream:       apiSrv.URL + "/v1",
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	t.Logf("workerd ready in %v", time.Since(start).Round(time.Millisecond))
	b := harness.NewTab(t, chromium)
	nc := captureNetwork(t, b)
	tokenURL := w.URL + "/token"
	again := (mintTTL + 1) * time.Second
	b.Run(30*time.Second,
		chromedp.Navigate(page.URL+"/mint-e2e.html?worker="+url.QueryEscape(tokenURL)+"&again="+strconv.Itoa(int(again/time.Millisecond))),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === "true"`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
	)
	firstAt := time.Now()

	// 1. The page got the API's echo, the API got the provider's token.
	first := harness.Eval[apiAnswer](b, `window.e2e.first`)
	wantEcho(t, first, "n=1")
	minted := harness.Eval[string](b, `window.e2e.token()`)
	got := api.Received()
	if len(got) != 1 || got[0].Subject != demoprovider.DefaultClientID || got[0].Path != "/v1/items" || got[0].Query != "n=1" {
		t.Fatalf("API received %+v, want one GET /v1/items?n=1 with the provider's token for %s", got, demoprovider.DefaultClientID)
	}
	providerToken := strings.TrimPrefix(got[0].Headers["Authorization"][0], "Bearer ")
	if strings.Count(providerToken, ".") != 2 || providerToken == minted {
		t.Fatalf("API received Authorization %.12q…, want the provider's JWT", providerToken)
	}
	apiCalls := nc.requests("GET", w.URL+"/api/items")
	if len(apiCalls) != 1 {
		t.Fatalf("page's GET /api/items: got %d, want 1:\n%s", len(apiCalls), nc.summary())
	}
	noBrowserHeaders(t, got[0], nc.headers(apiCalls[0]), minted)

	// 2. Tokens the worker did not mint for this page: 401 from the page,
	// and the API is not contacted.
	t.Run("refused tokens", func(t *testing.T) {
		hits := apiHits.Load()
		other := mintFor(ctx, t, w.URL, otherOrigin)
		refused := map[string]string{
			"no token":                       "",
			"forged signature":               "Bearer " + resign(t, minted, nil, otherSigner),
			"alg none":                       "Bearer " + resign(t, minted, map[string]any{"alg": "none"}, nil),
			"HS256 with the public key":      "Bearer " + resign(t, minted, map[string]any{"alg": "HS256"}, []byte(signer.Public().(ed25519.PublicKey))),
			"minted for another origin":      "Bearer " + other,
			"minted token, not Bearer":       "Basic " + minted,
			"minted token with a bad suffix": "Bearer " + minted + "x",
		}
		for name, auth := range refused {
			a := harness.Eval[apiAnswer](b, "window.e2e.raw("+jsString("/api/items?refused="+url.QueryEscape(name))+", "+jsString(auth)+")")
			if a.Status != 401 || !strings.Contains(a.Body, `"invalid_token"`) || !strings.Contains(a.WWW, "invalid_token") {
				t.Errorf("%s: got %d %s (WWW-Authenticate %q), want 401 invalid_token", name, a.Status, a.Body, a.WWW)
			}
		}
		// The provider's token is no minted token either; sent from
		// outside the browser, which must never hold it.
		if status, body := callAPI(ctx, t, w.URL+"/api/items", page.URL, "Bearer "+providerToken); status != 401 {
			t.Errorf("the provider's token: got %d %s, want 401", status, body)
		}
		if n := apiHits.Load() - hits; n != 0 {
			t.Errorf("API contacted %d times by refused calls, want 0", n)
		}
	})

	// 3. The page calls again by itself once its token expired: a new
	// token is minted, the call succeeds.
	b.Run(again+20*time.Second, chromedp.Poll[chromedp.Void](`window.e2e.second !== null`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(again+15*time.Second)))
	second := harness.Eval[apiAnswer](b, `window.e2e.second`)
	wantEcho(t, second, "n=2")
	renewed := harness.Eval[string](b, `window.e2e.token()`)
	if renewed == minted {
		t.Error("the page's token after TOKEN_TTL: got the first token, want a new one")
	}
	posts := nc.requests("POST", tokenURL)
	if len(posts) != 2 {
		t.Errorf("POST /token from the page: got %d, want 2 (the first token, then its renewal):\n%s", len(posts), nc.summary())
	}
	got = api.Received()
	if len(got) != 2 || got[1].Subject != demoprovider.DefaultClientID || got[1].Query != "n=2" {
		t.Errorf("API received %+v, want the second call with the provider's token", got)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider token requests: got %d, want 1 (cached across both calls)", n)
	}

	// 4. The first token, once past exp and the worker's leeway: 401.
	exp := claimTime(t, minted, "exp")
	if d := time.Until(exp.Add(5*time.Second + 1500*time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
	hits := apiHits.Load()
	if a := harness.Eval[apiAnswer](b, "window.e2e.raw('/api/items?expired=1', "+jsString("Bearer "+minted)+")"); a.Status != 401 {
		t.Errorf("expired minted token: got %d %s, want 401", a.Status, a.Body)
	}
	if n := apiHits.Load() - hits; n != 0 {
		t.Errorf("API contacted %d times by the expired token, want 0", n)
	}

	// 5. The provider token is nowhere the browser can see.
	nc.fetchBodies(t, b)
	pageText := harness.Eval[string](b, `(async () => [document.documentElement.outerHTML, document.body.innerText,
		JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie,
		JSON.stringify(await caches.keys()), JSON.stringify(await indexedDB.databases()),
		JSON.stringify(window.e2e)].join("\n"))()`)
	cookies := browserCookies(t, b, page.URL, w.URL)
	places := map[string]func(string) []string{
		"the network (URLs, headers, bodies)": nc.search,
		"the DOM or storage":                  inText(pageText),
		"the cookies":                         inText(cookies),
		"the console":                         inText(text(b.Console())),
		"the worker's log":                    inText(w.Log()),
	}
	for where, search := range places {
		for _, form := range tokenForms(providerToken) {
			if found := search(form); len(found) > 0 {
				t.Errorf("the provider token (%.8s…) is in %s: %v", form, where, found)
			}
		}
		if found := search(secret); len(found) > 0 {
			t.Errorf("the client secret is in %s: %v", where, found)
		}
	}
	// The search is not blind: the minted tokens are in the bodies of the
	// POST /token answers, the echo in those of /api/ and in the DOM.
	for s, want := range map[string]string{minted: "body of POST " + tokenURL, renewed: "body of POST " + tokenURL,
		`"sub":"demo-client"`: "body of GET " + w.URL + "/api/items?n="} {
		if found := strings.Join(nc.search(s), "\n"); !strings.Contains(found, want) {
			t.Errorf("%.24s… found in %q, want in the %s: the capture misses something:\n%s", s, found, want, nc.summary())
		}
	}
	if !strings.Contains(pageText, `"sub":"demo-client"`) {
		t.Error("the page's DOM does not show the API's echo: the DOM search misses something")
	}
	t.Logf("%d requests captured; first API answer %v after start; total %v",
		len(nc.list()), firstAt.Sub(start).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// modulePrereqs checks for the importable module in dist/, built from the
// current web/src (skip, or fail under TOKENHELPER_E2E).
func modulePrereqs(t *testing.T, dist string) {
	t.Helper()
	missing := harness.MissingFiles(dist, "(./build.sh build)", "tokenhelper.mjs", "wasm_exec.js", "tokenhelper.wasm")
	built, _ := os.ReadFile(filepath.Join(dist, "tokenhelper.mjs"))
	src, err := os.ReadFile(harness.Path("web", "src", "tokenhelper.mjs"))
	if err == nil && len(built) > 0 && string(built) != string(src) {
		missing = append(missing, "a fresh dist/tokenhelper.mjs: it differs from web/src/tokenhelper.mjs (./build.sh build)")
	}
	harness.Require(t, "module", missing...)
}

// mintTestPage serves the test page and dist/ (the module) beside it.
func mintTestPage(dist string) http.Handler {
	files := devserver.Handler(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mint-e2e.html" {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, mintPageHTML)
	})
}

// wantEcho checks that the page got the demo API's echo of GET
// /v1/items?query with the token redacted.
func wantEcho(t *testing.T, a apiAnswer, query string) {
	t.Helper()
	var e demoapi.Echo
	if a.Status != 200 || json.Unmarshal([]byte(a.Body), &e) != nil {
		t.Fatalf("page's call ?%s: got %d %s, want 200 and the API's echo", query, a.Status, a.Body)
	}
	if e.Method != "GET" || e.Path != "/v1/items" || e.Query != query || e.Subject != demoprovider.DefaultClientID ||
		strings.Join(e.Headers["Authorization"], ",") != "Bearer <redacted>" {
		t.Errorf("page's call ?%s: echo %+v, want GET /v1/items?%s for %s, Authorization redacted", query, e, query, demoprovider.DefaultClientID)
	}
}

// forwardable are the request headers the proxy passes on by design.
var forwardable = map[string]bool{"accept": true, "accept-language": true, "content-type": true, "content-language": true,
	"if-match": true, "if-none-match": true, "if-modified-since": true, "if-unmodified-since": true, "range": true}

// noBrowserHeaders checks that the API received none of the headers the
// browser sent with the page's call (sent: as DevTools saw them on the
// wire), except the harmless ones forwarded by design (and
// Accept-Encoding, which workerd sets itself), and never the minted token.
func noBrowserHeaders(t *testing.T, got demoapi.Echo, sent, minted string) {
	t.Helper()
	for _, h := range []string{"Cookie", "Origin", "Referer", "X-Forwarded-For", "Forwarded", "Cf-Connecting-Ip"} {
		if v, ok := got.Headers[h]; ok {
			t.Errorf("%s reached the API: %q", h, v)
		}
	}
	for k, vs := range got.Headers {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "sec-") {
			t.Errorf("browser header %s reached the API", k)
		}
		for _, v := range vs {
			if strings.Contains(v, minted) || strings.Contains(v, strings.Split(minted, ".")[2]) {
				t.Errorf("the minted token reached the API in %s", k)
			}
			if lk == "user-agent" && strings.Contains(v, "Chrome") {
				t.Errorf("the browser's User-Agent reached the API: %q", v)
			}
		}
	}
	for _, line := range strings.Split(sent, "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "> "), ": ")
		if !ok || !strings.HasPrefix(line, "> ") || forwardable[strings.ToLower(name)] || value == "" ||
			strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Accept-Encoding") {
			continue
		}
		for k, vs := range got.Headers {
			if strings.EqualFold(k, name) && strings.Join(vs, ", ") == value {
				t.Errorf("the browser's %s: %s reached the API", name, value)
			}
		}
	}
}
