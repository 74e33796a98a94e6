package verify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// JWKS is a parsed JSON Web Key Set (RFC 7517) holding the public keys a
// verifier trusts. Only RS256 (RSA, 2048 to 8192 bits), ES256 (P-256) and
// EdDSA (Ed25519) signing keys are kept; others are skipped.
type JWKS struct {
	keys []jwk
}

type jwk struct {
	kid string
	alg string
	key any
}

// rawJWK holds the members of a JWK that matter here.
type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// MaxJWKSKeys bounds the keys read from one document.
const MaxJWKSKeys = 64

// maxRSABytes bounds an RSA modulus (8192 bits): a JWKS is outside input,
// and checking a signature against a modulus of hundreds of kilobytes would
// cost each request seconds of CPU.
const maxRSABytes = 8192 / 8

// ParseJWKS parses a JWKS document. It fails when the document is not a
// JWKS or holds no usable signing key.
func ParseJWKS(data []byte) (*JWKS, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("verify: invalid JWKS: %w", err)
	}
	if len(doc.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("verify: invalid JWKS: %d keys, at most %d", len(doc.Keys), MaxJWKSKeys)
	}
	set := &JWKS{}
	for _, m := range doc.Keys {
		var r rawJWK
		if json.Unmarshal(m, &r) != nil || (r.Use != "" && r.Use != "sig") {
			continue
		}
		if k, ok := r.parse(); ok {
			set.keys = append(set.keys, k)
		}
	}
	if len(set.keys) == 0 {
		return nil, errors.New("verify: JWKS has no usable RS256, ES256 or EdDSA key")
	}
	return set, nil
}

// parse converts one JWK, refusing a stated alg that does not fit the key.
func (r rawJWK) parse() (jwk, bool) {
	b64 := base64.RawURLEncoding
	k := jwk{kid: r.Kid}
	switch r.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(r.N)
		e, err2 := b64.DecodeString(r.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(n) > maxRSABytes || len(e) == 0 || len(e) > 4 {
			return k, false
		}
		k.alg, k.key = "RS256", &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	case "EC":
		x, err1 := b64.DecodeString(r.X)
		y, err2 := b64.DecodeString(r.Y)
		if r.Crv != "P-256" || err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return k, false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil { // not on the curve
			return k, false
		}
		k.alg, k.key = "ES256", pub
	case "OKP":
		x, err := b64.DecodeString(r.X)
		if r.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return k, false
		}
		k.alg, k.key = "EdDSA", ed25519.PublicKey(x)
	default:
		return k, false
	}
	if r.Alg != "" && r.Alg != k.alg {
		return k, false
	}
	return k, true
}

// Methods returns the algorithms of the keys in the set.
func (s *JWKS) Methods() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range s.keys {
		if !seen[k.alg] {
			seen[k.alg] = true
			out = append(out, k.alg)
		}
	}
	return out
}

// Key picks the key named by the token's kid; without a kid, the only key
// of the token's algorithm.
func (s *JWKS) Key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	alg := t.Method.Alg()
	var found *jwk
	for i := range s.keys {
		k := &s.keys[i]
		if k.alg != alg || (kid != "" && k.kid != kid) {
			continue
		}
		if found != nil {
			return nil, errors.New("verify: several keys match; the token needs a kid")
		}
		found = k
	}
	if found == nil {
		return nil, errors.New("verify: no key in the JWKS for this token's kid and alg")
	}
	return found.key, nil
}
