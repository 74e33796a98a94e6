//go:build !js

package worker_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

// FuzzAPIGate sends /api/ calls with fuzzed Authorization values, from the
// page's origin or another allowed one, to a worker in mode mint, and
// checks that the upstream API is reached only with a token the worker
// minted for that very origin (the same header, claims and signature,
// however the base64 is spelt): nothing else, however malformed, gets
// past the gate, and nothing panics.
func FuzzAPIGate(f *testing.F) {
	const other = "http://localhost:8080"
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	f.Cleanup(provider.Close)
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		f.Fatal(err)
	}
	var hits atomic.Int64 // every call that reached the API, valid or not
	api := &demoapi.API{Keys: keys}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		api.ServeHTTP(w, r)
	}))
	f.Cleanup(upstream.Close)
	_, signingKey := testkeys.Ed25519(f)
	clock := newClock() // stands still: minted tokens stay valid for the whole run
	e := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin + "," + other,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     signingKey,
		worker.VarTokenTTL:       "120",
		worker.VarUpstream:       upstream.URL + "/v1",
	}
	h := &worker.Handler{Getenv: e.get, Transport: nethttp.New(nil), Store: &worker.MemoryStore{Now: clock.Now},
		Clock: clock, Timeout: 2 * time.Second}
	mintedFor := map[string]string{}
	for _, o := range []string{testOrigin, other} {
		r := httptest.NewRequest("POST", workerURL+"/token", nil)
		r.Header.Set("Origin", o)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &body) != nil {
			f.Fatalf("POST /token for %s: %d %s", o, w.Code, w.Body)
		}
		mintedFor[o] = body.AccessToken
	}
	good := mintedFor[testOrigin]
	// The property is only worth checking if a minted token does get through.
	r := httptest.NewRequest("GET", workerURL+"/api/items", nil)
	r.Header.Set("Origin", testOrigin)
	r.Header.Set("Authorization", "Bearer "+good)
	w := httptest.NewRecorder()
	if h.ServeHTTP(w, r); w.Code != 200 || hits.Load() != 1 {
		f.Fatalf("a minted token: got %d %s with %d upstream calls, want 200 through the upstream", w.Code, w.Body, hits.Load())
	}
	parts := strings.Split(good, ".")
	f.Add("Bearer "+good, false)
	f.Add("bearer  "+good+" ", false)
	f.Add("Bearer "+good, true) // minted for the other origin
	f.Add("Bearer "+mintedFor[other], false)
	f.Add("Bearer "+good+"x", false)
	f.Add("Bearer "+parts[0]+"."+parts[1]+".", false)
	f.Add("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+parts[1]+".", false)
	f.Add("Bearer "+parts[0]+"."+parts[1]+"."+strings.Repeat("A", len(parts[2])), false)
	f.Add("Basic "+good, false)
	f.Add("Bearer a.b.c", false)
	f.Add("", false)

	f.Fuzz(func(t *testing.T, auth string, fromOther bool) {
		origin := testOrigin
		if fromOther {
			origin = other
		}
		before := hits.Load()
		r := httptest.NewRequest("GET", workerURL+"/api/items", nil)
		r.Header.Set("Origin", origin)
		r.Header["Authorization"] = []string{auth}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if hits.Load() == before {
			if w.Code == 200 {
				t.Fatalf("200 without the upstream: %s", w.Body)
			}
			return
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") || !sameJWT(strings.TrimSpace(tok), mintedFor[origin]) {
			t.Fatalf("the upstream was reached (answer %d) with Authorization %q from %s: not a token minted for it", w.Code, auth, origin)
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
