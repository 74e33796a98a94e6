package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// jwkOf returns the public JWK of a key, for building test key sets.
func jwkOf(t testing.TB, kid string, pub crypto.PublicKey) map[string]string {
	b := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "n": b(k.N.Bytes()), "e": b(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, _ := k.Bytes()
		return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b(raw[1:33]), "y": b(raw[33:])}
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "kid": kid, "crv": "Ed25519", "use": "sig", "x": b(k)}
	}
	t.Fatalf("no JWK for %T", pub)
	return nil
}

func jwksOf(t testing.TB, keys ...map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func sign(t testing.TB, m jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	_ = otherPub
	set, err := ParseJWKS(jwksOf(t, jwkOf(t, "r", &rsaKey.PublicKey), jwkOf(t, "e", &ecKey.PublicKey), jwkOf(t, "o", edPub),
		map[string]string{"kty": "oct", "k": "c2VjcmV0"}, // symmetric keys are never taken from a JWKS
		map[string]string{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Methods(); !reflect.DeepEqual(got, []string{"RS256", "ES256", "EdDSA"}) {
		t.Errorf("got methods %v", got)
	}
	hmacSecret := []byte(strings.Repeat("k", 32))
	hk, err := NewHMACKey(hmacSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := testNow
	opts := Options{Issuer: "https://issuer", Audience: "api", Now: func() time.Time { return now }}
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://issuer", "aud": "api", "sub": "u", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	pubPEM := []byte(edPub)

	tests := []struct {
		name  string
		keys  KeySet
		token string
		want  error // nil: accepted
	}{
		{"RS256", set, sign(t, jwt.SigningMethodRS256, "r", rsaKey, good()), nil},
		{"ES256", set, sign(t, jwt.SigningMethodES256, "e", ecKey, good()), nil},
		{"EdDSA", set, sign(t, jwt.SigningMethodEdDSA, "o", edKey, good()), nil},
		{"EdDSA without kid", set, sign(t, jwt.SigningMethodEdDSA, "", edKey, good()), nil},
		{"HS256", hk, sign(t, jwt.SigningMethodHS256, "", hmacSecret, good()), nil},
		{"within leeway", hk, sign(t, jwt.SigningMethodHS256, "", hmacSecret, with("exp", now.Add(-10*time.Second).Unix())), nil},
		{"expired", hk, sign(t, jwt.SigningMethodHS256, "", hmacSecret, with("exp", now.Add(-time.Minute).Unix())), jwt.ErrTokenExpired},
		{"no exp", hk, sign(t, jwt.SigningMethodHS256, "", hmacSecret, without("exp")), jwt.ErrTokenRequiredClaimMissing},
		{"not yet valid", hk, sign(t, jwt.SigningMethodHS256, "", hmacSecret, with("nbf", now.Add(time.Hour).Unix())), jwt.ErrTokenNotValidYet},
		{"wrong audience", set, sign(t, jwt.SigningMethodEdDSA, "o", edKey, with("aud", "other")), jwt.ErrTokenInvalidAudience},
		{"wrong issuer", set, sign(t, jwt.SigningMethodEdDSA, "o", edKey, with("iss", "https://evil")), jwt.ErrTokenInvalidIssuer},
		{"alg none", set, none, jwt.ErrTokenSignatureInvalid},
		{"alg none against HMAC", hk, none, jwt.ErrTokenSignatureInvalid},
		{"forged signature", set, sign(t, jwt.SigningMethodEdDSA, "o", otherKey, good()), jwt.ErrTokenSignatureInvalid},
		{"HS256 signed with the public key (alg confusion)", set, sign(t, jwt.SigningMethodHS256, "o", pubPEM, good()), jwt.ErrTokenSignatureInvalid},
		{"EdDSA token against an HMAC key", hk, sign(t, jwt.SigningMethodEdDSA, "", edKey, good()), jwt.ErrTokenSignatureInvalid},
		{"unknown kid", set, sign(t, jwt.SigningMethodEdDSA, "zz", edKey, good()), jwt.ErrTokenUnverifiable},
		{"kid of a key of another type", set, sign(t, jwt.SigningMethodEdDSA, "r", edKey, good()), jwt.ErrTokenUnverifiable},
		{"malformed", set, "a.b.c", jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := JWT(tt.token, tt.keys, opts)
			if tt.want == nil {
				if err != nil || claims["sub"] != "u" {
					t.Fatalf("got %v, %v; want accepted", claims, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewHMACKey([]byte("short")); err == nil {
		t.Error("a 5-byte HMAC key was accepted")
	}
}

func TestParseJWKSRejects(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	offCurve := jwkOf(t, "e", &ecKey.PublicKey)
	offCurve["y"] = offCurve["x"]
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	wrongAlg := jwkOf(t, "e", &ecKey.PublicKey)
	wrongAlg["alg"] = "RS256"
	for name, doc := range map[string][]byte{
		"not json":        []byte("<html>"),
		"no keys":         []byte(`{"keys":[]}`),
		"point off curve": jwksOf(t, offCurve),
		"RSA 1024":        jwksOf(t, jwkOf(t, "r", &small.PublicKey)),
		"RSA 8200 bits": jwksOf(t, map[string]string{"kty": "RSA", "kid": "r", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(append([]byte{0x80}, make([]byte, 1024)...)), "e": "AQAB"}),
		"alg mismatch":   jwksOf(t, wrongAlg),
		"keys not array": []byte(`{"keys":{}}`),
	} {
		if _, err := ParseJWKS(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOneSpellingPerToken: a signature re-spelled in its unused low bits
// decodes to the same bytes under a lax decoder; it must be refused.
func TestOneSpellingPerToken(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	keys, _ := NewHMACKey(secret)
	now := testNow
	tok := sign(t, jwt.SigningMethodHS256, "", secret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()})
	opts := Options{Now: func() time.Time { return now }}
	if _, err := JWT(tok, keys, opts); err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	respelled := tok[:len(tok)-1] + string(alphabet[last^1]) // a 32-byte signature leaves 2 bits unused
	if a, _ := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:]); len(a) != 32 {
		t.Fatalf("signature of %d bytes", len(a))
	}
	if _, err := JWT(respelled, keys, opts); err == nil {
		t.Error("a re-spelled signature was accepted")
	}
}
