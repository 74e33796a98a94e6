// Package testkeys makes signing keys and a JWT issuer for tests and
// benchmarks: never for anything deployed.
package testkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// PEM encodes a private key as a PKCS #8 "PRIVATE KEY" block, the form
// SIGNING_KEY takes.
func PEM(tb testing.TB, priv any) string {
	tb.Helper()
	s, err := PEMOf(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// PEMOf is PEM for programs without a testing.TB (the benchmarks).
func PEMOf(priv any) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Ed25519 returns a new Ed25519 key and its PEM.
func Ed25519(tb testing.TB) (ed25519.PrivateKey, string) {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return priv, PEM(tb, priv)
}

// Issuer is a caller-identity provider: an Ed25519 key whose JWKS is
// served on loopback (counting its fetches), and JWTs signed with it.
type Issuer struct {
	// Issuer and Audience are the iss and aud of the tokens it signs.
	Issuer, Audience string
	// JWKSURL serves the public key (kid "k1").
	JWKSURL string

	priv    ed25519.PrivateKey
	srv     *httptest.Server
	fetches atomic.Int32
}

// NewIssuer starts an Issuer, stopped when the test ends.
func NewIssuer(tb testing.TB, issuer, audience string) *Issuer {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	k := &Issuer{Issuer: issuer, Audience: audience, priv: priv}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(pub),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	tb.Cleanup(srv.Close)
	k.srv, k.JWKSURL = srv, srv.URL+"/certs"
	return k
}

// Fetches counts the JWKS requests served so far.
func (k *Issuer) Fetches() int32 { return k.fetches.Load() }

// Sign makes a JWT for sub "user@example.com" valid for 5 minutes from
// now; edit changes the claims before signing.
func (k *Issuer) Sign(now time.Time, edit func(jwt.MapClaims)) string {
	c := jwt.MapClaims{"iss": k.Issuer, "aud": k.Audience, "sub": "user@example.com",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if edit != nil {
		edit(c)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = "k1"
	s, err := t.SignedString(k.priv)
	if err != nil {
		panic(err) // an Ed25519 key always signs
	}
	return s
}

// Unsigned returns an alg "none" token with the Issuer's valid claims.
func (k *Issuer) Unsigned(now time.Time) string {
	t := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": k.Issuer, "aud": k.Audience,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	s, _ := t.SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

// Close stops serving the JWKS early, as a JWKS endpoint that went down.
func (k *Issuer) Close() { k.srv.Close() }
