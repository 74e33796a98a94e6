package tokenhelper

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
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestInspect(t *testing.T) {
	raw, err := os.ReadFile("testdata/jwt/hs256_exp2100.txt")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Header["alg"] != "HS256" || in.Claims["sub"] != "demo" {
		t.Errorf("got %v %v", in.Header, in.Claims)
	}
	if exp, ok := in.Expiry(); !ok || exp.Unix() != 4102444800 {
		t.Errorf("got exp %v %v", exp, ok)
	}
	if iat, ok := in.IssuedAt(); !ok || iat.Unix() != 1700000000 {
		t.Errorf("got iat %v %v", iat, ok)
	}
	// An algorithm golang-jwt does not know still inspects.
	if _, err := Inspect(b64(`{"alg":"XS999"}`) + "." + b64(`{"a":1}`) + ".x"); err != nil {
		t.Errorf("unknown alg: got %v", err)
	}
	for _, bad := range []string{"", "a.b", "a.b.c.d", "!!.e30.x", b64("{") + ".e30.x", "e30." + b64("[") + ".x", b64(`{"alg":"HS256"}`) + ".e30.***"} {
		if _, err := Inspect(bad); !errors.Is(err, jwt.ErrTokenMalformed) {
			t.Errorf("Inspect(%q): got %v, want ErrTokenMalformed", bad, err)
		}
	}
}

// TestDecodeSegmentLikeJWTDecode follows the jwt-decode npm package's own
// test cases: any part count, both base64 alphabets, padding, UTF-8.
func TestDecodeSegmentLikeJWTDecode(t *testing.T) {
	payload := b64(`{"name":"José","emoji":"🙂","exp":1393286893}`)
	tests := []struct {
		token string
		part  int
		want  any
		err   string
	}{
		{token: b64(`{"alg":"HS256"}`) + "." + payload + ".sig", part: 1, want: map[string]any{"name": "José", "emoji": "🙂", "exp": 1393286893.0}},
		{token: b64(`{"alg":"HS256"}`) + "." + payload + ".sig", part: 0, want: map[string]any{"alg": "HS256"}},
		{token: "x." + payload, part: 1, want: map[string]any{"name": "José", "emoji": "🙂", "exp": 1393286893.0}},
		{token: "x." + b64(`{"a":"b?c"}`) + "==", part: 1, want: map[string]any{"a": "b?c"}},
		{token: "x.eyJhIjoiYj9jIn0=", part: 1, want: map[string]any{"a": "b?c"}},
		{token: "x." + strings.NewReplacer("-", "+", "_", "/").Replace(b64(`{"a":"~~~???>>>"}`)), part: 1, want: map[string]any{"a": "~~~???>>>"}},
		{token: "x." + b64(`42`), part: 1, want: 42.0},
		{token: "onlyone", part: 1, err: "Invalid token specified: missing part #2"},
		{token: "", part: 1, err: "Invalid token specified: missing part #2"},
		{token: "a.b", part: 2, err: "Invalid token specified: missing part #3"},
		{token: "x.a", part: 1, err: "Invalid token specified: invalid base64 for part #2 (base64 string is not of the correct length)"},
		{token: "x.ab$c", part: 1, err: "Invalid token specified: invalid base64 for part #2"},
		{token: "x." + b64(`{"a":`), part: 1, err: "Invalid token specified: invalid json for part #2"},
		{token: b64(`{`) + ".e30", part: 0, err: "Invalid token specified: invalid json for part #1"},
	}
	for _, tt := range tests {
		got, err := DecodeSegment(tt.token, tt.part)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) || !errors.Is(err, jwt.ErrTokenMalformed) {
				t.Errorf("DecodeSegment(%q, %d): got %v, want %q", tt.token, tt.part, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeSegment(%q, %d) = %v, %v; want %v", tt.token, tt.part, got, err, tt.want)
		}
	}
}

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
	opts := VerifyOptions{Issuer: "https://issuer", Audience: "api", Now: func() time.Time { return now }}
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
			claims, err := Verify(tt.token, tt.keys, opts)
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
		"alg mismatch":    jwksOf(t, wrongAlg),
		"keys not array":  []byte(`{"keys":{}}`),
	} {
		if _, err := ParseJWKS(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
