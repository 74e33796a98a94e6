package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Prover signs DPoP proofs with one key. Its methods are safe for
// concurrent use.
type Prover struct {
	sign   crypto.Signer
	jwk    publicJWK
	method jwt.SigningMethod
	// Now is the clock of iat (default time.Now).
	Now func() time.Time
}

// NewProver returns a Prover for a P-256 *ecdsa.PrivateKey (ES256) or an
// ed25519.PrivateKey (EdDSA).
func NewProver(key crypto.Signer) (*Prover, error) {
	j, alg, err := jwkOf(key.Public())
	if err != nil {
		return nil, err
	}
	p := &Prover{sign: key, jwk: j, method: jwt.GetSigningMethod(alg)}
	if k, ok := key.(*ecdsa.PrivateKey); ok && k.Curve != elliptic.P256() {
		return nil, errors.New("dpop: only P-256 ECDSA keys")
	}
	return p, nil
}

// GenerateProver returns a Prover with a fresh P-256 key, which lives in
// this process only: its tokens are useless to anyone else.
func GenerateProver() (*Prover, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewProver(k)
}

// Alg is the proofs' algorithm: "ES256" or "EdDSA" (RFC 9449 5.1's
// dpop_signing_alg_values_supported names it).
func (p *Prover) Alg() string { return p.method.Alg() }

// Thumbprint is the key's RFC 7638 thumbprint, the cnf.jkt of the tokens
// bound to it.
func (p *Prover) Thumbprint() string { return p.jwk.Thumbprint() }

// Proof returns a proof for one request: method, the URL (its query and
// fragment are left out of htu), and the access token it carries ("" for
// a token request, which has no ath).
func (p *Prover) Proof(method, rawURL, accessToken string) (string, error) {
	return p.ProofNonce(method, rawURL, accessToken, "")
}

// ProofNonce is Proof carrying a server's DPoP-Nonce ("" for none; RFC
// 9449 4.2 and 8).
func (p *Prover) ProofNonce(method, rawURL, accessToken, nonce string) (string, error) {
	htu, err := normalizeHTU(rawURL)
	if err != nil {
		return "", err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var jti [16]byte
	rand.Read(jti[:])
	claims := jwt.MapClaims{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"htm": method, "htu": htu, "iat": now().Unix(),
	}
	if accessToken != "" {
		claims["ath"] = ath(accessToken)
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	t := jwt.NewWithClaims(p.method, claims)
	t.Header["typ"] = "dpop+jwt"
	t.Header["jwk"] = p.jwk
	return t.SignedString(p.sign) // *ecdsa.PrivateKey or ed25519.PrivateKey
}

// DPoPProof is Proof, for tokenhelper.WorkerConfig.DPoP.
func (p *Prover) DPoPProof(_ context.Context, method, url, accessToken string) (string, error) {
	return p.Proof(method, url, accessToken)
}

// DPoPProofNonce is ProofNonce, for tokenhelper.DPoPNonceProver: a
// server's use_dpop_nonce answer is retried with its nonce.
func (p *Prover) DPoPProofNonce(_ context.Context, method, url, accessToken, nonce string) (string, error) {
	return p.ProofNonce(method, url, accessToken, nonce)
}

// ath is the proof's hash of the access token (RFC 9449 4.2).
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// normalizeHTU returns the URL without query and fragment, its scheme and
// host lower-cased and a default port left out (RFC 3986 6.2.2, 6.2.3), as
// RFC 9449 4.3 compares htu.
func normalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errors.New("dpop: htu must be an absolute http(s) URL")
	}
	n := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	n.Scheme = strings.ToLower(n.Scheme)
	n.Host = strings.ToLower(n.Host)
	if p := n.Port(); (p == "443" && n.Scheme == "https") || (p == "80" && n.Scheme == "http") {
		n.Host = n.Host[:len(n.Host)-len(p)-1]
	}
	if n.Path == "" {
		n.Path = "/"
	}
	return n.String(), nil
}
