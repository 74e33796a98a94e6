package assertion_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/assertion"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

const secret = "a-client-secret-of-more-than-32-bytes"

// keys returns a private key of each kind ParsePrivateKey takes, with
// its public key and algorithm.
func keys(t *testing.T) map[string][2]any {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ := testkeys.Ed25519(t)
	return map[string][2]any{
		"RS256": {rk, rk.Public()},
		"ES256": {ek, ek.Public()},
		"EdDSA": {ed, ed.Public()},
	}
}

// checkAssertion verifies jws with key and checks its claims as RFC 7523
// 3 wants them, returning its jti.
func checkAssertion(t *testing.T, jws, alg string, key any, clientID, aud, kid string) string {
	t.Helper()
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(jws, claims, func(tok *jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{alg}), jwt.WithAudience(aud), jwt.WithIssuer(clientID), jwt.WithSubject(clientID),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	if got, _ := tok.Header["kid"].(string); got != kid {
		t.Errorf("kid %q, want %q", got, kid)
	}
	if a, ok := claims["aud"].(string); !ok || a != aud {
		t.Errorf("aud %#v, want the single string %q", claims["aud"], aud)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if life := exp.Sub(iat.Time); life <= 0 || life > 5*time.Minute {
		t.Errorf("lifetime %v, want within 5 minutes", life)
	}
	if d := time.Since(iat.Time); d < -time.Minute || d > time.Minute {
		t.Errorf("iat %v is not now", iat)
	}
	jti, _ := claims["jti"].(string)
	if len(jti) < 16 {
		t.Errorf("jti %q too short", jti)
	}
	return jti
}

func TestPrivateKeyJWTRequest(t *testing.T) {
	for alg, k := range keys(t) {
		t.Run(alg, func(t *testing.T) {
			s, err := assertion.ParsePrivateKey([]byte(testkeys.PEM(t, k[0])), "key-1")
			if err != nil {
				t.Fatal(err)
			}
			if s.Alg() != alg {
				t.Fatalf("alg %s, want %s", s.Alg(), alg)
			}
			for _, issuer := range []string{"", "https://as.example.com/tenant"} {
				cfg := tokenhelper.Config{TokenURL: "https://as.example.com/tenant/token", Issuer: issuer, ClientID: "c1",
					AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: s, Scope: "api"}
				req, err := tokenhelper.BuildRequest(cfg)
				if err != nil {
					t.Fatal(err)
				}
				form, err := url.ParseQuery(string(req.Body))
				if err != nil {
					t.Fatal(err)
				}
				if form.Get("client_assertion_type") != tokenhelper.ClientAssertionType || form.Get("client_id") != "c1" || form.Has("client_secret") {
					t.Fatalf("body %v", form)
				}
				aud := issuer // the issuer when known, else the token endpoint
				if aud == "" {
					aud = cfg.TokenURL
				}
				checkAssertion(t, form.Get("client_assertion"), alg, k[1], "c1", aud, "key-1")
				if c := req.Curl(); strings.Contains(c, form.Get("client_assertion")) || strings.Contains(c, strings.Split(form.Get("client_assertion"), ".")[2]) {
					t.Errorf("the curl rendering shows the assertion:\n%s", c)
				}
				if red := req.Redact("echo " + form.Get("client_assertion")); strings.Contains(red, "eyJ") {
					t.Errorf("Redact leaves the assertion: %s", red)
				}
			}
		})
	}
}

func TestClientSecretJWTRequest(t *testing.T) {
	cfg := tokenhelper.Config{TokenURL: "https://as.example.com/token", ClientID: "c1", ClientSecret: secret,
		AuthStyle: tokenhelper.AuthClientSecretJWT}
	var err error
	if cfg.Assertion, err = assertion.For(cfg, nil, ""); err != nil {
		t.Fatal(err)
	}
	req, err := tokenhelper.BuildRequest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(req.Body))
	if form.Has("client_secret") || strings.Contains(string(req.Body), secret) || req.Header["Authorization"] != "" {
		t.Fatalf("the secret is sent: %s", req.Body)
	}
	checkAssertion(t, form.Get("client_assertion"), "HS256", []byte(secret), "c1", cfg.TokenURL, "")
	if _, err := assertion.HS256("short"); err == nil {
		t.Error("a 5-byte HS256 key was taken")
	}
}

func TestBadKeysAndConfigs(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, pemText := range map[string]string{
		"not PEM":  "hello",
		"RSA 1024": testkeys.PEM(t, small),
		"public":   "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"garbage":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := assertion.ParsePrivateKey([]byte(pemText), ""); !errors.Is(err, assertion.ErrKey) {
			t.Errorf("%s: %v, want ErrKey", name, err)
		}
	}
	for name, cfg := range map[string]tokenhelper.Config{
		"no signer":          {TokenURL: "https://as.example.com/token", ClientID: "c", AuthStyle: tokenhelper.AuthPrivateKeyJWT},
		"jwt without secret": {TokenURL: "https://as.example.com/token", ClientID: "c", AuthStyle: tokenhelper.AuthClientSecretJWT, Assertion: &assertion.Signer{}},
		"profile":            {Provider: "aluma", ClientID: "c", ClientSecret: "s", AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: &assertion.Signer{}},
	} {
		if _, err := tokenhelper.BuildRequest(cfg); !errors.Is(err, tokenhelper.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// authServer is an authorization server on loopback that checks client
// assertions as oidc-provider does (signature, aud, a jti seen once),
// serves its metadata where asked, and records what it received.
type authServer struct {
	*httptest.Server
	key      any
	alg      string
	t        *testing.T
	mu       sync.Mutex
	jtis     map[string]bool
	fail     int // answers 503 to this many token requests first
	paths    []string
	issuer   string // what the metadata names; the server's URL if empty
	methods  []string
	rfc8414  bool   // serves /.well-known/oauth-authorization-server
	endpoint string // the token_endpoint the metadata names; its own if empty
}

func newAuthServer(t *testing.T, key any, alg string) *authServer {
	a := &authServer{key: key, alg: alg, t: t, jtis: map[string]bool{}, methods: []string{"private_key_jwt", "client_secret_jwt"}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *authServer) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paths = append(a.paths, r.Method+" "+r.URL.Path)
	issuer := a.issuer
	if issuer == "" {
		issuer = a.URL + "/t1"
	}
	endpoint := a.endpoint
	if endpoint == "" {
		endpoint = a.URL + "/t1/token"
	}
	meta := func() {
		json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "token_endpoint": endpoint,
			"token_endpoint_auth_methods_supported": a.methods, "dpop_signing_alg_values_supported": []string{"ES256"}})
	}
	switch {
	case r.URL.Path == "/.well-known/oauth-authorization-server/t1" && a.rfc8414, r.URL.Path == "/t1/.well-known/openid-configuration":
		meta()
	case r.URL.Path == "/t1/token" && r.Method == "POST":
		if a.fail > 0 {
			a.fail--
			// The first assertion reached the server: a retry must not reuse it.
			r.ParseForm()
			a.jtis[a.jti(r.PostForm.Get("client_assertion"))] = true
			w.WriteHeader(503)
			return
		}
		r.ParseForm()
		jti := a.jti(r.PostForm.Get("client_assertion"))
		if a.jtis[jti] {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_client","error_description":"jti replayed"}`))
			return
		}
		a.jtis[jti] = true
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"at-` + jti + `","token_type":"Bearer","expires_in":300}`))
	default:
		http.NotFound(w, r)
	}
}

func (a *authServer) jti(jws string) string {
	return checkAssertion(a.t, jws, a.alg, a.key, "c1", a.URL+"/t1", "")
}

func TestDiscoveryAndAssertionEndToEnd(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := assertion.ParsePrivateKey([]byte(testkeys.PEM(t, ek)), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, rfc8414 := range []bool{true, false} {
		a := newAuthServer(t, ek.Public(), "ES256")
		a.rfc8414 = rfc8414
		a.fail = 1
		c := &tokenhelper.Client{Metadata: new(tokenhelper.MetadataCache), Transport: nethttp.New(a.Client()), Retry: tokenhelper.RetryPolicy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
		cfg := tokenhelper.Config{Issuer: a.URL + "/t1", ClientID: "c1", AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: signer}
		for i := 0; i < 2; i++ {
			tok, err := c.Token(context.Background(), cfg)
			if err != nil {
				t.Fatalf("rfc8414 %v: %v (server saw %v)", rfc8414, err, a.paths)
			}
			if !strings.HasPrefix(tok.AccessToken, "at-") {
				t.Fatalf("token %q", tok.AccessToken)
			}
		}
		want := []string{"GET /.well-known/oauth-authorization-server/t1"}
		if !rfc8414 {
			want = append(want, "GET /t1/.well-known/openid-configuration")
		}
		want = append(want, "POST /t1/token", "POST /t1/token", "POST /t1/token") // 503, retried with a new jti, then once more
		if strings.Join(a.paths, ",") != strings.Join(want, ",") {
			t.Errorf("rfc8414 %v: server saw %v, want %v (metadata fetched once)", rfc8414, a.paths, want)
		}
		m, err := c.Discover(context.Background(), cfg.Issuer)
		if err != nil || len(m.DPoPAlgs) != 1 || m.DPoPAlgs[0] != "ES256" {
			t.Errorf("metadata %+v, %v", m, err)
		}
	}
}

func TestDiscoveryRefuses(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := assertion.ParsePrivateKey([]byte(testkeys.PEM(t, ek)), "")
	for name, edit := range map[string]func(a *authServer){
		"another issuer":      func(a *authServer) { a.issuer = a.URL + "/t2" },
		"issuer with a slash": func(a *authServer) { a.issuer = a.URL + "/t1/" },
		"method not listed":   func(a *authServer) { a.methods = []string{"client_secret_basic"} },
		"http token endpoint": func(a *authServer) { a.endpoint = "http://as.example.com/t1/token" },
		"http issuer":         func(a *authServer) {},
		"no metadata at all":  func(a *authServer) {},
	} {
		t.Run(name, func(t *testing.T) {
			a := newAuthServer(t, ek.Public(), "ES256")
			edit(a)
			issuer := a.URL + "/t1"
			switch name {
			case "http issuer":
				issuer = "http://as.example.com/t1" // refused before any request
			case "no metadata at all":
				issuer = a.URL + "/nothing"
			}
			c := &tokenhelper.Client{Metadata: new(tokenhelper.MetadataCache), Transport: nethttp.New(a.Client())}
			cfg := tokenhelper.Config{Issuer: issuer, ClientID: "c1", AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: signer}
			_, err := c.Token(context.Background(), cfg)
			var e *tokenhelper.Error
			if !errors.As(err, &e) || (e.Kind != tokenhelper.ErrBadResponse && e.Kind != tokenhelper.ErrConfig) {
				t.Fatalf("got %v, want ErrBadResponse or ErrConfig", err)
			}
			for _, p := range a.paths {
				if strings.HasSuffix(p, "/token") {
					t.Fatalf("the token endpoint was called: %v", a.paths)
				}
			}
			t.Log(err)
		})
	}
}

// Signer is also a crypto-free interface: a custom one works.
type fixed string

func (f fixed) SignJWT([]byte) (string, error) { return string(f), nil }

func TestCustomSigner(t *testing.T) {
	req, err := tokenhelper.BuildRequest(tokenhelper.Config{TokenURL: "https://as.example.com/token", ClientID: "c",
		AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: fixed("h.p.s")})
	if err != nil || !strings.Contains(string(req.Body), "client_assertion=h.p.s") {
		t.Fatalf("%v %s", err, req.Body)
	}
}

func TestCredentialMaterial(t *testing.T) {
	k := keys(t)
	seen := map[string]bool{}
	for alg, kp := range k {
		s, _ := assertion.ParsePrivateKey([]byte(testkeys.PEM(t, kp[0])), "")
		again, _ := assertion.ParsePrivateKey([]byte(testkeys.PEM(t, kp[0])), "other-kid")
		m := s.CredentialMaterial()
		if len(m) == 0 || string(m) != string(again.CredentialMaterial()) || seen[string(m)] {
			t.Errorf("%s: material %x not one per key", alg, m)
		}
		seen[string(m)] = true
	}
	if h, _ := assertion.HS256(secret); h.CredentialMaterial() != nil {
		t.Error("HS256 material is not nil")
	}
}
