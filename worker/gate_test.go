//go:build !js

package worker_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// jwksServer is a caller-identity provider whose key set can change (a
// rotation) and whose answers can be slowed down, counting its fetches.
type jwksServer struct {
	URL     string
	mu      sync.Mutex
	keys    map[string]ed25519.PrivateKey // by kid
	delay   time.Duration
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, kids ...string) *jwksServer {
	s := &jwksServer{keys: map[string]ed25519.PrivateKey{}}
	for _, kid := range kids {
		s.add(kid)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		delay := s.delay
		var keys []map[string]string
		for kid, k := range s.keys {
			keys = append(keys, map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
				"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))})
		}
		s.mu.Unlock()
		time.Sleep(delay)
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/certs"
	return s
}

// add puts a new key named kid in the set (a rotation).
func (s *jwksServer) add(kid string) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s.mu.Lock()
	s.keys[kid] = priv
	s.mu.Unlock()
}

// sign makes a caller JWT signed by the key kid; with a kid the server
// does not have, by a key of the attacker's own.
func (s *jwksServer) sign(now time.Time, kid string) string {
	s.mu.Lock()
	priv := s.keys[kid]
	s.mu.Unlock()
	if priv == nil {
		_, priv, _ = ed25519.GenerateKey(rand.Reader)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": callerIssuer, "aud": callerAudience,
		"sub": "user@example.com", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	t.Header["kid"] = kid
	tok, _ := t.SignedString(priv)
	return tok
}

// TestCallerJWKSInMemory: with no Store that keeps anything (the Cache
// API on *.workers.dev, bare workerd), the gate holds the caller key set
// in memory: garbage and forged JWTs with random kids cost no fetch each,
// an unknown kid refetches at most once a minute (so a rotated-in key is
// accepted a minute later at the latest), the set is fetched again after
// its 10 minutes, and a burst against an empty set waits on one fetch.
func TestCallerJWKSInMemory(t *testing.T) {
	f := newFixture(t)
	ks := newJWKSServer(t, "k1")
	e := f.env.with(worker.VarCallerJWKSURL, ks.URL, worker.VarCallerIssuer, callerIssuer, worker.VarCallerAudience, callerAudience)
	h := f.handler(e)
	h.Store = nil // an isolate whose Cache API stores nothing
	call := func(tok string) int {
		return f.do(h, "POST", "/token", testOrigin, "Authorization", "Bearer "+tok).Code
	}
	wantFetches := func(when string, n int32) {
		t.Helper()
		if got := ks.fetches.Load(); got != n {
			t.Errorf("%s: JWKS fetches: got %d, want %d", when, got, n)
		}
	}
	now := f.clock.Now
	for i := range 30 {
		tok := "garbage." + strconv.Itoa(i)
		if i%2 == 1 {
			tok = ks.sign(now(), "forged-"+strconv.Itoa(i)) // a random kid
		}
		if got := call(tok); got != http.StatusUnauthorized {
			t.Fatalf("garbage caller JWT %d: got %d, want 401", i, got)
		}
	}
	wantFetches("30 garbage and forged caller JWTs", 1)
	if got := call(ks.sign(now(), "k1")); got != 200 {
		t.Fatalf("valid caller: got %d, want 200", got)
	}
	wantFetches("then a valid caller", 1)

	ks.add("k2") // the provider rotates a key in
	if got := call(ks.sign(now(), "k2")); got != http.StatusUnauthorized {
		t.Errorf("new kid within a minute of the last fetch: got %d, want 401", got)
	}
	wantFetches("a new kid within a minute of the last fetch", 1)
	f.clock.Advance(time.Minute + time.Second)
	if got := call(ks.sign(now(), "k2")); got != 200 {
		t.Errorf("new kid a minute later: got %d, want 200", got)
	}
	wantFetches("a new kid a minute later", 2)
	for i := range 20 {
		call(ks.sign(now(), "forged-again-"+strconv.Itoa(i)))
	}
	wantFetches("20 forged kids right after", 2)
	f.clock.Advance(time.Minute + time.Second)
	for i := range 20 {
		call(ks.sign(now(), "forged-later-"+strconv.Itoa(i)))
	}
	wantFetches("20 forged kids a minute later", 3)

	f.clock.Advance(10 * time.Minute)
	if got := call(ks.sign(now(), "k1")); got != 200 {
		t.Errorf("valid caller after the set's lifetime: got %d, want 200", got)
	}
	wantFetches("a valid caller after the set's lifetime", 4)

	// A burst at a fresh isolate while the JWKS is slow: one fetch.
	h = f.handler(e)
	h.Store = nil
	ks.mu.Lock()
	ks.delay = 200 * time.Millisecond
	ks.mu.Unlock()
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("POST", "/token", nil)
			r.Header.Set("Origin", testOrigin)
			r.Header.Set("Authorization", "Bearer "+ks.sign(now(), "k1"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			codes <- w.Code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("burst at a fresh isolate: got %d, want 200", c)
		}
	}
	wantFetches("a burst of 16 at a fresh isolate", 5)
}
