//go:build !js

package worker_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
	"github.com/tokenhelper/tokenhelper/worker/apiproxy/apiproxytest"
)

// FuzzAPIGate sends /<route>/api/<path> calls with fuzzed Authorization
// values and paths, from the page's origin or another allowed one, to a
// worker with two routes in mode mint, and checks that an upstream API is
// reached only through its own route and only with a token the worker
// minted for that very origin and route (the same header, claims and signature,
// however the base64 is spelt), and with a path that no common reading
// (apiproxytest.Escapes: a servlet container's, one decoding once or
// twice first) takes outside that route's base: nothing else, however
// malformed, gets past the gate, and nothing panics.
func FuzzAPIGate(f *testing.F) {
	const other = "http://localhost:8080"
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	f.Cleanup(provider.Close)
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		f.Fatal(err)
	}
	// Two routes, a and b, sharing every setting but their API: a token
	// minted by one names it in its issuer.
	var mu sync.Mutex
	hits := map[string]int{} // upstream calls by route, valid or not
	var escaped []string     // forwarded paths that leave their route's base
	api := &demoapi.API{Keys: keys}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		mu.Lock()
		hits[route]++
		if apiproxytest.Escapes("/"+route, raw) {
			escaped = append(escaped, raw)
		}
		mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	f.Cleanup(upstream.Close)
	count := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(hits)
	}
	_, signingKey := testkeys.Ed25519(f)
	clock := newClock() // stands still: minted tokens stay valid for the whole run
	e := env{
		worker.VarRoutes:         "a,b",
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin + "," + other,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     signingKey,
		worker.VarTokenTTL:       "120",
		"A_UPSTREAM_API_URL":     upstream.URL + "/a",
		"B_UPSTREAM_API_URL":     upstream.URL + "/b",
	}
	h := &worker.Router{Handler: &worker.Handler{Getenv: e.get, Transport: nethttp.New(nil), Store: &worker.MemoryStore{Now: clock.Now},
		Clock: clock, Timeout: 2 * time.Second}}
	type key struct{ origin, route string }
	minted := map[key]string{}
	for _, o := range []string{testOrigin, other} {
		for _, route := range []string{"a", "b"} {
			r := httptest.NewRequest("POST", workerURL+"/"+route+"/token", nil)
			r.Header.Set("Origin", o)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var body struct {
				AccessToken string `json:"access_token"`
			}
			if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &body) != nil {
				f.Fatalf("POST /%s/token for %s: %d %s", route, o, w.Code, w.Body)
			}
			minted[key{o, route}] = body.AccessToken
		}
	}
	good := minted[key{testOrigin, "a"}]
	// The property is only worth checking if a minted token does get through.
	r := httptest.NewRequest("GET", workerURL+"/a/api/items", nil)
	r.Header.Set("Origin", testOrigin)
	r.Header.Set("Authorization", "Bearer "+good)
	w := httptest.NewRecorder()
	if h.ServeHTTP(w, r); w.Code != 200 || count()["a"] != 1 {
		f.Fatalf("a minted token: got %d %s with %v upstream calls, want 200 through the upstream", w.Code, w.Body, count())
	}
	parts := strings.Split(good, ".")
	f.Add("Bearer "+good, false, false, "items")
	f.Add("bearer  "+good+" ", false, false, "items?x=1")
	f.Add("Bearer "+good, true, false, "items") // minted for the other origin
	f.Add("Bearer "+good, false, true, "items") // minted for the other route
	f.Add("Bearer "+minted[key{other, "b"}], false, true, "../a/items")
	f.Add("Bearer "+good+"x", false, false, "")
	f.Add("Bearer "+parts[0]+"."+parts[1]+".", false, false, "items")
	f.Add("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+parts[1]+".", false, false, "%2e%2e/b")
	f.Add("Bearer "+parts[0]+"."+parts[1]+"."+strings.Repeat("A", len(parts[2])), false, false, "items")
	for _, p := range []string{"..;/b/items", "%2e%2e;/b/items", "x/..;/..;/b/items", "..;x=1/b/items", ".;/items",
		"..%3b/b/items", "%252e%252e/b/items", "a%2f..%2f..%2fb", "%c0%ae%c0%ae/b", "a//items", "items;v=1"} {
		f.Add("Bearer "+good, false, false, p)
	}
	f.Add("Basic "+good, false, false, "items")
	f.Add("Bearer a.b.c", false, false, "items")
	f.Add("", false, false, "")

	f.Fuzz(func(t *testing.T, auth string, fromOther, toB bool, path string) {
		origin, route := testOrigin, "a"
		if fromOther {
			origin = other
		}
		if toB {
			route = "b"
		}
		r, err := http.NewRequest("GET", workerURL+"/"+route+"/api/"+path, nil)
		if err != nil {
			return // not a URL a client could send
		}
		r.Header.Set("Origin", origin)
		r.Header["Authorization"] = []string{auth}
		before := count()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		after := count()
		if maps.Equal(before, after) {
			if w.Code == 200 {
				t.Fatalf("200 without the upstream: %s", w.Body)
			}
			return
		}
		mu.Lock()
		esc := escaped
		escaped = nil
		mu.Unlock()
		if len(esc) > 0 {
			t.Fatalf("GET /%s/api/%s reached the upstream as %q, outside the route's base", route, path, esc)
		}
		if after["a"]+after["b"] != before["a"]+before["b"]+1 || after[route] != before[route]+1 {
			t.Fatalf("a call to route %s reached the upstream of another route: %v then %v", route, before, after)
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") || !sameJWT(strings.TrimSpace(tok), minted[key{origin, route}]) {
			t.Fatalf("the upstream was reached (answer %d) with Authorization %q from %s on route %s: not a token minted for them", w.Code, auth, origin, route)
		}
	})
}

// sameJWT reports whether a and b have the same three segments once
// base64url-decoded.
func sameJWT(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) != 3 || len(pb) != 3 {
		return false
	}
	for i := range pa {
		da, errA := base64.RawURLEncoding.DecodeString(pa[i])
		db, errB := base64.RawURLEncoding.DecodeString(pb[i])
		if errA != nil || errB != nil || !bytes.Equal(da, db) {
			return false
		}
	}
	return true
}
