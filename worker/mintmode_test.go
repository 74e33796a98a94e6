//go:build !js

package worker_test

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/verify"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// mintKey is an HS256 signing secret for the tests (48 bytes).
const mintKey = "test-signing-key-0123456789abcdefghijklmnopqrstuv"

const workerURL = "https://worker.example"

// mintFixture is a demo provider, a demo API behind it, and a worker in
// mode mint in front of both.
type mintFixture struct {
	*fixture
	api *demoapi.API
}

func newMintFixture(t *testing.T, signingKey string) *mintFixture {
	f := newFixture(t)
	keys, err := verify.ParseJWKS(f.demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	api := &demoapi.API{Keys: keys}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	f.env = f.env.with(worker.VarMode, "mint", worker.VarSigningKey, signingKey, worker.VarUpstream, srv.URL+"/v1", worker.VarTokenTTL, "120")
	return &mintFixture{fixture: f, api: api}
}

// send is do with a body-less request to the worker's absolute URL.
func (f *mintFixture) send(e env, method, path, origin string, hdr ...string) *httptest.ResponseRecorder {
	return f.do(f.handler(e), method, workerURL+path, origin, hdr...)
}

func (f *mintFixture) mint(origin string) string {
	f.t.Helper()
	w := f.send(f.env, "POST", "/token", origin)
	if w.Code != 200 {
		f.t.Fatalf("POST /token: got %d %s", w.Code, w.Body)
	}
	return decode(f.t, w)["access_token"].(string)
}

func TestMintTokenIsTheWorkersNotTheProviders(t *testing.T) {
	f := newMintFixture(t, mintKey)
	w := f.send(f.env, "POST", "/token", testOrigin)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != testOrigin {
		t.Fatalf("got %d %v", w.Code, w.Header())
	}
	body := decode(t, w)
	// exp is whole seconds: 119 or 120 seconds remain of a 120 s TTL.
	if e, _ := body["expires_in"].(float64); body["token_type"] != "Bearer" || e < 119 || e > 120 {
		t.Errorf("got %v", body)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(body["access_token"].(string), claims, func(*jwt.Token) (any, error) { return []byte(mintKey), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != workerURL || claims["aud"] != testOrigin || claims["jti"] == nil || claims["sub"] != nil {
		t.Errorf("got claims %v", claims)
	}
	if n := f.demo.Count(); n != 0 {
		t.Errorf("minting contacted the provider %d times", n)
	}
}

func TestMintCarriesTheCallerIdentity(t *testing.T) {
	f := newMintFixture(t, mintKey)
	keys := newCallerKeys(t)
	e := callerEnv(keys, f.env)
	w := f.send(e, "POST", "/token", testOrigin, "Authorization", "Bearer "+keys.Sign(f.clock.Now(), nil))
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	in, _ := tokenhelper.Inspect(decode(t, w)["access_token"].(string))
	if in.Claims["sub"] != "user@example.com" {
		t.Errorf("got sub %v, want the caller's", in.Claims["sub"])
	}
	if w := f.send(e, "POST", "/token", testOrigin, "Authorization", "Bearer "+keys.Unsigned(f.clock.Now())); w.Code != 401 {
		t.Errorf("alg none caller: got %d", w.Code)
	}
}

func TestAPIForwardsWithTheProviderToken(t *testing.T) {
	f := newMintFixture(t, mintKey)
	tok := f.mint(testOrigin)
	w := f.send(f.env, "GET", "/api/items?id=7", testOrigin, "Authorization", "Bearer "+tok, "Cookie", "s=1", "X-Forwarded-For", "6.6.6.6")
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != testOrigin {
		t.Fatalf("got %d %s %v", w.Code, w.Body, w.Header())
	}
	got := f.api.Received()
	if len(got) != 1 || got[0].Path != "/v1/items" || got[0].Query != "id=7" || got[0].Subject != "demo-client" {
		t.Fatalf("API saw %+v", got)
	}
	for _, h := range []string{"Cookie", "X-Forwarded-For", "Origin"} {
		if v := got[0].Headers[h]; v != nil {
			t.Errorf("%s reached the API: %v", h, v)
		}
	}
	// The provider's token is in what the API received, and nowhere in
	// what the browser received.
	providerToken := strings.TrimPrefix(got[0].Headers["Authorization"][0], "Bearer ")
	if !strings.Contains(providerToken, ".") {
		t.Fatalf("API saw Authorization %q", providerToken)
	}
	all := w.Body.String()
	for k, v := range w.Header() {
		all += k + strings.Join(v, ",")
	}
	if strings.Contains(all, providerToken) || strings.Contains(all, strings.Split(providerToken, ".")[2]) {
		t.Errorf("the browser received the provider token")
	}
	if strings.Contains(all, tok) {
		t.Errorf("the minted token was echoed")
	}
}

func TestAPIRejectsAndNeverCallsUpstream(t *testing.T) {
	edPriv, edKey := testkeys.Ed25519(t)
	f := newMintFixture(t, edKey)
	other := "http://localhost:8080" // also an allowed origin
	good := f.mint(testOrigin)
	now := f.clock.Now()
	kidOf := func(tok string) string { in, _ := tokenhelper.Inspect(tok); return in.Header["kid"].(string) }
	sign := func(m jwt.SigningMethod, key any, edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": workerURL, "aud": testOrigin, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		t := jwt.NewWithClaims(m, c)
		t.Header["kid"] = kidOf(good)
		s, _ := t.SignedString(key)
		return s
	}
	otherPriv, _ := testkeys.Ed25519(t)
	pub := edPriv.Public().(ed25519.PublicKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": workerURL, "aud": testOrigin, "exp": now.Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(good, ".")
	tests := []struct {
		name   string
		origin string
		auth   []string
		status int
	}{
		{"no token", testOrigin, nil, 401},
		{"not bearer", testOrigin, []string{"Basic " + good}, 401},
		{"forged signature", testOrigin, []string{"Bearer " + sign(jwt.SigningMethodEdDSA, otherPriv, nil)}, 401},
		{"tampered claims", testOrigin, []string{"Bearer " + parts[0] + "." + strings.Split(sign(jwt.SigningMethodEdDSA, otherPriv, func(c jwt.MapClaims) { c["sub"] = "admin" }), ".")[1] + "." + parts[2]}, 401},
		{"alg none", testOrigin, []string{"Bearer " + none}, 401},
		{"HS256 signed with the public key", testOrigin, []string{"Bearer " + sign(jwt.SigningMethodHS256, []byte(pub), nil)}, 401},
		{"expired", testOrigin, []string{"Bearer " + sign(jwt.SigningMethodEdDSA, edPriv, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })}, 401},
		{"not yet valid", testOrigin, []string{"Bearer " + sign(jwt.SigningMethodEdDSA, edPriv, func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })}, 401},
		{"audience of another origin", other, []string{"Bearer " + good}, 401},
		{"issued by another worker", testOrigin, []string{"Bearer " + sign(jwt.SigningMethodEdDSA, edPriv, func(c jwt.MapClaims) { c["iss"] = "https://other.example" })}, 401},
		{"two Authorization headers", testOrigin, []string{"Bearer " + good, "Bearer " + good}, 401},
		{"origin not allowed", "https://evil.example", []string{"Bearer " + good}, 403},
		{"no origin", "", []string{"Bearer " + good}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", workerURL+"/api/items", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			f.handler(f.env).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if n := len(f.api.Received()); n != 0 || f.demo.Count() != 0 {
		t.Errorf("upstream contacted: API %d, provider %d", n, f.demo.Count())
	}
	// The good token works, and only until it expires.
	if w := f.send(f.env, "GET", "/api/x", testOrigin, "Authorization", "Bearer "+good); w.Code != 200 {
		t.Fatalf("good token: got %d %s", w.Code, w.Body)
	}
	f.clock.Advance(2*time.Minute + 10*time.Second)
	if w := f.send(f.env, "GET", "/api/x", testOrigin, "Authorization", "Bearer "+good); w.Code != 401 {
		t.Errorf("after TOKEN_TTL: got %d, want 401", w.Code)
	}
}

func TestKeyRotation(t *testing.T) {
	_, oldKey := testkeys.Ed25519(t)
	_, newKey := testkeys.Ed25519(t)
	f := newMintFixture(t, oldKey)
	tok := f.mint(testOrigin)
	rotated := f.env.with(worker.VarSigningKey, newKey, worker.VarPreviousKey, oldKey,
		worker.VarRotatedAt, f.clock.Now().Add(time.Second).UTC().Format(time.RFC3339))
	f.clock.Advance(30 * time.Second)
	if w := f.send(rotated, "GET", "/api/a", testOrigin, "Authorization", "Bearer "+tok); w.Code != 200 {
		t.Fatalf("token of the previous key within the window: got %d %s", w.Code, w.Body)
	}
	var jwks struct{ Keys []map[string]string }
	json.Unmarshal(f.send(rotated, "GET", "/.well-known/jwks.json", "").Body.Bytes(), &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0]["d"] != "" {
		t.Errorf("JWKS during the window: %v", jwks.Keys)
	}
	f.clock.Advance(2 * time.Minute) // past RotatedAt + TTL (120 s)
	if w := f.send(rotated, "GET", "/api/a", testOrigin, "Authorization", "Bearer "+tok); w.Code != 401 {
		t.Errorf("replayed after the rotation window: got %d", w.Code)
	}
}

func TestAPIOnlyInMintMode(t *testing.T) {
	f := newFixture(t)
	if w := f.do(f.handler(f.env), "GET", "/api/x", testOrigin); w.Code != http.StatusNotFound {
		t.Errorf("pass mode /api: got %d", w.Code)
	}
	if w := f.do(f.handler(f.env), "GET", "/.well-known/jwks.json", ""); w.Code != http.StatusNotFound {
		t.Errorf("pass mode JWKS: got %d", w.Code)
	}
}

func TestAPIPreflight(t *testing.T) {
	f := newMintFixture(t, mintKey)
	w := f.send(f.env, "OPTIONS", "/api/items", testOrigin)
	if w.Code != 204 || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
	if w := f.send(f.env, "OPTIONS", "/api/items", "https://evil.example"); w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: got %d %v", w.Code, w.Header())
	}
}

// A minted token verified once is taken again without a new check until
// its exp, and not a moment after; for another origin it is checked anew.
func TestAPIVerifiedTokenUntilItsExp(t *testing.T) {
	f := newMintFixture(t, mintKey)
	h := f.handler(f.env)
	tok := f.mint(testOrigin)
	call := func(origin string) int {
		return f.do(h, "GET", workerURL+"/api/items", origin, "Authorization", "Bearer "+tok).Code
	}
	if c := call(testOrigin); c != 200 {
		t.Fatalf("first call: got %d", c)
	}
	if c := call(testOrigin); c != 200 {
		t.Fatalf("second call (verified before): got %d", c)
	}
	if c := call("http://localhost:8080"); c != 401 {
		t.Errorf("the token from another allowed origin: got %d, want 401", c)
	}
	f.clock.Advance(126 * time.Second) // TOKEN_TTL 120, and Verify's 5 s of leeway
	if c := call(testOrigin); c != 401 {
		t.Errorf("after its exp: got %d, want 401", c)
	}
}
