package dpop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// publicJWK is the public key embedded in a proof's header (RFC 9449 4.2):
// an EC P-256 key for ES256 or an OKP Ed25519 key for EdDSA.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
}

// privateMembers are the JWK members that only a private key has (RFC
// 7518 6.2.2 and 6.3.2, RFC 8037 2): a proof carrying any is refused.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseJWK reads the header's jwk member into a public key and its
// algorithm, refusing private members and any other key type.
func parseJWK(v any) (key any, alg string, jkt string, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "", "", errors.New("the jwk header is not a JSON object")
	}
	for _, p := range privateMembers {
		if _, ok := m[p]; ok {
			return nil, "", "", errors.New("the jwk header holds a private key member")
		}
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	j := publicJWK{Kty: str("kty"), Crv: str("crv"), X: str("x"), Y: str("y")}
	b64 := base64.RawURLEncoding
	switch {
	case j.Kty == "EC" && j.Crv == "P-256":
		x, err1 := b64.DecodeString(j.X)
		y, err2 := b64.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, "", "", errors.New("the jwk is not a P-256 public key")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, "", "", errors.New("the jwk is not a point on P-256")
		}
		key, alg = pub, "ES256"
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize || j.Y != "" {
			return nil, "", "", errors.New("the jwk is not an Ed25519 public key")
		}
		key, alg = ed25519.PublicKey(x), "EdDSA"
	default:
		return nil, "", "", errors.New("the jwk is neither an EC P-256 nor an OKP Ed25519 key")
	}
	return key, alg, j.Thumbprint(), nil
}

// Thumbprint is the key's RFC 7638 thumbprint: SHA-256 over its required
// members in lexicographic order, without whitespace, base64url.
func (j publicJWK) Thumbprint() string {
	var b []byte
	// encoding/json writes struct fields in order and escapes nothing in
	// base64url or these names, so this is the canonical form.
	if j.Kty == "EC" {
		b, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y})
	} else {
		b, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X})
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwkOf returns the public JWK of a P-256 or Ed25519 key.
func jwkOf(pub any) (publicJWK, string, error) {
	b64 := base64.RawURLEncoding
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return publicJWK{}, "", errors.New("dpop: only P-256 ECDSA keys")
		}
		raw, err := k.Bytes()
		if err != nil {
			return publicJWK{}, "", err
		}
		return publicJWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:])}, "ES256", nil
	case ed25519.PublicKey:
		return publicJWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, "EdDSA", nil
	}
	return publicJWK{}, "", errors.New("dpop: only P-256 ECDSA and Ed25519 keys")
}
