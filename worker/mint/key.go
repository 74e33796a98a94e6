// Package mint issues and verifies the short-lived tokens a tokenhelper
// Worker in mode "mint" hands to browsers instead of the provider's token
// (the token-handler pattern): JWTs (RFC 7519) signed by the Worker, whose
// audience is the origin they were issued to, that live at most a few
// minutes and are only good for the Worker's own /api/ proxy.
//
// Keys are HS256 secrets of at least 32 bytes (RFC 7518 3.2) or Ed25519 /
// P-256 private keys in PKCS#8 PEM (EdDSA / ES256, whose public halves are
// published as a JWKS). A previous key stays valid for one TTL after a
// rotation, for the tokens it signed before it.
package mint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Key is a signing key with its algorithm and key ID.
type Key struct {
	alg    string
	kid    string
	method jwt.SigningMethod
	sign   any // []byte, ed25519.PrivateKey or *ecdsa.PrivateKey
	verify any // []byte, ed25519.PublicKey or *ecdsa.PublicKey
	jwk    map[string]string
}

// MinHMACBytes is the shortest HS256 secret accepted.
const MinHMACBytes = 32

// ParseKey reads a SIGNING_KEY value: a PKCS#8 PEM private key (Ed25519 →
// EdDSA, P-256 → ES256), or else an HS256 secret of at least 32 bytes. The
// error never quotes the value.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEM(s)
	}
	if len(s) < MinHMACBytes {
		return nil, errors.New("an HS256 secret needs at least 32 bytes (or give a PKCS#8 PEM Ed25519 or P-256 key)")
	}
	sum := sha256.Sum256([]byte("tokenhelper-kid:" + s))
	return &Key{alg: "HS256", kid: "hs-" + base64.RawURLEncoding.EncodeToString(sum[:9]),
		method: jwt.SigningMethodHS256, sign: []byte(s), verify: []byte(s)}, nil
}

func parsePEM(s string) (*Key, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("unreadable PKCS#8 private key")
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var k *Key
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		pub := p.Public().(ed25519.PublicKey)
		k = &Key{alg: "EdDSA", method: jwt.SigningMethodEdDSA, sign: p, verify: pub,
			jwk: map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}}
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("only P-256 ECDSA keys are supported (ES256)")
		}
		raw, err := p.PublicKey.Bytes()
		if err != nil {
			return nil, errors.New("invalid ECDSA public key")
		}
		k = &Key{alg: "ES256", method: jwt.SigningMethodES256, sign: p, verify: &p.PublicKey,
			jwk: map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}}
	default:
		return nil, errors.New("unsupported private key type; use Ed25519 or P-256")
	}
	k.kid = thumbprint(k.jwk)
	k.jwk["kid"], k.jwk["alg"], k.jwk["use"] = k.kid, k.alg, "sig"
	return k, nil
}

// thumbprint is the RFC 7638 JWK thumbprint: SHA-256 over the required
// members in lexicographic order.
func thumbprint(jwk map[string]string) string {
	var members []string
	switch jwk["kty"] {
	case "OKP":
		members = []string{"crv", "kty", "x"}
	case "EC":
		members = []string{"crv", "kty", "x", "y"}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m)
		val, _ := json.Marshal(jwk[m])
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Alg returns the JWS algorithm: HS256, EdDSA or ES256.
func (k *Key) Alg() string { return k.alg }

// ID returns the key ID put in the kid header.
func (k *Key) ID() string { return k.kid }

// Public returns the public key, or nil for an HMAC secret.
func (k *Key) Public() crypto.PublicKey {
	if k.alg == "HS256" {
		return nil
	}
	return k.verify
}
