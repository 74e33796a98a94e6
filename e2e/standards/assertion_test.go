//go:build unix

package standardse2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/assertion"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// keyPair is a private_key_jwt client key: its PEM, kid and algorithm.
type keyPair struct{ pem, kid, alg string }

// testClientKeys are the keys of oidc-provider's private_key_jwt client
// (clientID+"-pkjwt"), made once per run: its JWKS holds their public
// halves.
type clientKeySet struct {
	once sync.Once
	keys []keyPair
	// rsa is an RS256 key in the JWKS too, used by the module's test
	// only (RSA keys take a while to make; the others use keys).
	rsa  keyPair
	jwks string
}

var testClientKeys clientKeySet

func clientKeys(t *testing.T) *clientKeySet {
	testClientKeys.once.Do(func() {
		b64 := base64.RawURLEncoding.EncodeToString
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, ed, _ := ed25519.GenerateKey(rand.Reader)
		ecPEM, _ := testkeys.PEMOf(ec)
		edPEM, _ := testkeys.PEMOf(ed)
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		rsaPEM, _ := testkeys.PEMOf(rk)
		x, y := make([]byte, 32), make([]byte, 32)
		ec.X.FillBytes(x)
		ec.Y.FillBytes(y)
		jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
			{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": "es", "use": "sig", "alg": "ES256"},
			{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "kid": "ed", "use": "sig", "alg": "EdDSA"},
			{"kty": "RSA", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes()), "kid": "rs", "use": "sig", "alg": "RS256"},
		}})
		testClientKeys.rsa = keyPair{rsaPEM, "rs", "RS256"}
		testClientKeys.keys = []keyPair{{ecPEM, "es", "ES256"}, {edPEM, "ed", "EdDSA"}}
		testClientKeys.jwks = string(jwks)
	})
	return &testClientKeys
}

// TestCoreAssertionsAtOIDCProvider: the core, given only the issuer,
// discovers oidc-provider's token endpoint (its openid-configuration:
// it serves no RFC 8414 document) and gets tokens with private_key_jwt
// (ES256 and EdDSA keys) and client_secret_jwt; an issuer that is not the
// one the document names is refused before any token request.
func TestCoreAssertionsAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &tokenhelper.Client{Transport: nethttp.New(nil), Metadata: new(tokenhelper.MetadataCache)}
	m, err := client.Discover(ctx, p.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if m.TokenEndpoint != p.issuer+"/token" || !m.Supports(tokenhelper.AuthPrivateKeyJWT) || !m.Supports(tokenhelper.AuthClientSecretJWT) {
		t.Fatalf("metadata %+v", m)
	}
	for _, k := range clientKeys(t).keys {
		s, err := assertion.ParsePrivateKey([]byte(k.pem), k.kid)
		if err != nil {
			t.Fatal(err)
		}
		cfg := tokenhelper.Config{Issuer: p.issuer, ClientID: clientID + "-pkjwt", AuthStyle: tokenhelper.AuthPrivateKeyJWT,
			Assertion: s, Resource: []string{resource}}
		tok, err := client.Token(ctx, cfg)
		if err != nil {
			t.Fatalf("private_key_jwt %s: %v", k.alg, err)
		}
		p.audience(t, tok.AccessToken, resource)
		// The same client with the token endpoint as audience (no issuer known).
		cfg.Issuer, cfg.TokenURL = "", m.TokenEndpoint
		if tok, err = client.Token(ctx, cfg); err != nil {
			t.Fatalf("private_key_jwt %s, aud the token endpoint: %v", k.alg, err)
		}
	}
	// Another client's key is refused by the server.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPEM, _ := testkeys.PEMOf(other)
	s, _ := assertion.ParsePrivateKey([]byte(otherPEM), "es")
	_, err = client.Token(ctx, tokenhelper.Config{Issuer: p.issuer, ClientID: clientID + "-pkjwt", AuthStyle: tokenhelper.AuthPrivateKeyJWT, Assertion: s, Resource: []string{resource}})
	if e := (*tokenhelper.Error)(nil); !errors.As(err, &e) || e.Code != "invalid_client" {
		t.Errorf("a key not the client's: %v, want invalid_client", err)
	}

	cfg := tokenhelper.Config{Issuer: p.issuer, ClientID: clientID + "-csjwt", ClientSecret: clientSecret,
		AuthStyle: tokenhelper.AuthClientSecretJWT, Resource: []string{resource}}
	if cfg.Assertion, err = assertion.For(cfg, nil, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := client.Token(ctx, cfg)
	if err != nil {
		t.Fatalf("client_secret_jwt: %v", err)
	}
	p.audience(t, tok.AccessToken, resource)

	// Mix-up defence: the same server named differently (localhost for
	// 127.0.0.1) serves a document whose issuer is not the configured one.
	cfg.Issuer = strings.Replace(p.issuer, "127.0.0.1", "localhost", 1)
	_, err = client.Token(ctx, cfg)
	if !errors.Is(err, tokenhelper.ErrBadResponse) || !strings.Contains(err.Error(), "is not the configured issuer") {
		t.Errorf("issuer %s: %v, want the document refused", cfg.Issuer, err)
	}
}

// TestCommandAssertionsAtOIDCProvider: the command with
// TOKENHELPER_ISSUER and TOKENHELPER_AUTH=private_key_jwt (key from
// --client-assertion-key-file) or client_secret_jwt prints a token.
func TestCommandAssertionsAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	bin := buildCommand(t)
	home := t.TempDir()
	keyFile := filepath.Join(home, "client.pem")
	k := clientKeys(t).keys[0]
	if err := os.WriteFile(keyFile, []byte(k.pem), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{[]string{"TOKENHELPER_CLIENT_ID=" + clientID + "-pkjwt", "TOKENHELPER_AUTH=private_key_jwt"}, []string{"--client-assertion-key-file", keyFile, "--client-assertion-kid", k.kid}},
		{[]string{"TOKENHELPER_CLIENT_ID=" + clientID + "-csjwt", "TOKENHELPER_AUTH=client_secret_jwt", "TOKENHELPER_CLIENT_SECRET=" + clientSecret}, nil},
	} {
		cmd := exec.Command(bin, append([]string{"token", "--resource", resource}, tc.args...)...)
		cmd.Env = append([]string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"), "TOKENHELPER_ISSUER=" + p.issuer}, tc.env...)
		out, err := cmd.Output()
		var errOut string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			errOut = string(ee.Stderr)
		}
		if err != nil || strings.Count(string(out), "\n") != 1 {
			t.Fatalf("%v: %v %q %s", tc.env, err, out, errOut)
		}
		if strings.Contains(string(out)+errOut, clientSecret) || strings.Contains(string(out)+errOut, "PRIVATE KEY") {
			t.Fatal("a secret is in the output")
		}
		p.audience(t, strings.TrimSpace(string(out)), resource)
	}
}
