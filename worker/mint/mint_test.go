package mint

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
)

const origin = "https://app.example"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func keys(t testing.TB) (hs, ed, es *Key, edPriv ed25519.PrivateKey) {
	var err error
	if hs, err = ParseKey(strings.Repeat("s", 40)); err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ = ed25519.GenerateKey(rand.Reader)
	if ed, err = ParseKey(testkeys.PEM(t, edPriv)); err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if es, err = ParseKey(testkeys.PEM(t, ecPriv)); err != nil {
		t.Fatal(err)
	}
	return hs, ed, es, edPriv
}

func TestParseKey(t *testing.T) {
	hs, ed, es, _ := keys(t)
	for k, alg := range map[*Key]string{hs: "HS256", ed: "EdDSA", es: "ES256"} {
		if k.Alg() != alg || k.ID() == "" {
			t.Errorf("got %s %q, want %s with a kid", k.Alg(), k.ID(), alg)
		}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, v := range map[string]string{
		"short secret": "too-short",
		"bad PEM":      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
		"P-384":        testkeys.PEM(t, p384),
	} {
		_, err := ParseKey(v)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), v) {
			t.Errorf("%s: error quotes the key: %v", name, err)
		}
	}
}

func TestMintAndVerify(t *testing.T) {
	for _, alg := range []string{"HS256", "EdDSA", "ES256"} {
		hs, ed, es, _ := keys(t)
		k := map[string]*Key{"HS256": hs, "EdDSA": ed, "ES256": es}[alg]
		m := &Minter{Issuer: "https://worker.example", Current: k, Now: func() time.Time { return t0 }}
		tok, exp, err := m.Mint(origin, "user-1")
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(t0.Add(DefaultTTL)) {
			t.Errorf("%s: got exp %v", alg, exp)
		}
		claims, err := m.Verify(tok, origin)
		if err != nil || claims["sub"] != "user-1" || claims["jti"] == "" {
			t.Fatalf("%s: got %v, %v", alg, claims, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	hs, ed, _, edPriv := keys(t)
	now := t0
	clock := func() time.Time { return now }
	m := &Minter{Issuer: "https://worker.example", Current: ed, TTL: 5 * time.Minute, Now: clock}
	hsm := &Minter{Issuer: "https://worker.example", Current: hs, TTL: 5 * time.Minute, Now: clock}
	good, _, _ := m.Mint(origin, "")
	goodHS, _, _ := hsm.Mint(origin, "")
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://worker.example", "aud": origin, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tk := jwt.NewWithClaims(method, c)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name  string
		m     *Minter
		token string
		aud   string
	}{
		{"forged signature", m, sign(jwt.SigningMethodEdDSA, ed.kid, otherPriv, claims(nil)), origin},
		{"tampered payload", m, strings.Split(good, ".")[0] + "." + strings.Split(sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { c["sub"] = "admin" })), ".")[1] + "." + strings.Split(good, ".")[2], origin},
		{"alg none", m, none, origin},
		{"HS256 token against an EdDSA key", m, sign(jwt.SigningMethodHS256, ed.kid, []byte(ed.verify.(ed25519.PublicKey)), claims(nil)), origin},
		{"EdDSA token against an HS256 key", hsm, sign(jwt.SigningMethodEdDSA, hs.kid, edPriv, claims(nil)), origin},
		{"expired", m, sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), origin},
		{"not yet valid", m, sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), origin},
		{"audience of another origin", m, good, "https://evil.example"},
		{"wrong issuer", m, sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { c["iss"] = "https://x" })), origin},
		{"lifetime beyond the TTL", m, sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(time.Hour).Unix() })), origin},
		{"no exp", m, sign(jwt.SigningMethodEdDSA, ed.kid, edPriv, claims(func(c jwt.MapClaims) { delete(c, "exp") })), origin},
		{"unknown kid", m, sign(jwt.SigningMethodEdDSA, "other", edPriv, claims(nil)), origin},
		{"HS256 token from another secret", hsm, sign(jwt.SigningMethodHS256, hs.kid, []byte(strings.Repeat("x", 40)), claims(nil)), origin},
		{"garbage", m, "not.a.token", origin},
	}
	for _, tt := range tests {
		if _, err := tt.m.Verify(tt.token, tt.aud); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: got %v, want rejected", tt.name, err)
		}
	}
	if _, err := hsm.Verify(goodHS, origin); err != nil {
		t.Errorf("good HS256 token: %v", err)
	}
}

func TestRotation(t *testing.T) {
	_, old, _, _ := keys(t)
	_, cur, _, _ := keys(t)
	now := t0
	before := &Minter{Issuer: "w", Current: old, Now: func() time.Time { return now }}
	oldToken, _, _ := before.Mint(origin, "")

	now = t0.Add(time.Minute) // rotated a minute later
	rotated := &Minter{Issuer: "w", Current: cur, Previous: old, RotatedAt: now, Now: func() time.Time { return now }}
	if _, err := rotated.Verify(oldToken, origin); err != nil {
		t.Fatalf("a token of the previous key within the window: %v", err)
	}
	if !strings.Contains(string(rotated.JWKS()), old.kid) || !strings.Contains(string(rotated.JWKS()), cur.kid) {
		t.Errorf("JWKS during the window lacks a key: %s", rotated.JWKS())
	}
	// A token the previous key signs after the rotation (a leaked old key)
	// is refused even within the window.
	leaked := &Minter{Issuer: "w", Current: old, Now: func() time.Time { return now.Add(time.Second) }}
	late, _, _ := leaked.Mint(origin, "")
	now = now.Add(2 * time.Second)
	if _, err := rotated.Verify(late, origin); !errors.Is(err, ErrRejected) {
		t.Errorf("token signed by the previous key after rotation: got %v", err)
	}
	// After one TTL the previous key is gone, even for a token with a
	// leeway-covered exp.
	now = t0.Add(time.Minute + DefaultTTL)
	if _, err := rotated.Verify(oldToken, origin); !errors.Is(err, ErrRejected) {
		t.Errorf("replayed after the rotation window: got %v", err)
	}
	if strings.Contains(string(rotated.JWKS()), old.kid) {
		t.Errorf("previous key still published after its window")
	}
}

// FuzzVerify feeds malformed tokens to the verification path.
func FuzzVerify(f *testing.F) {
	_, ed, _, _ := keys(f)
	m := &Minter{Issuer: "w", Current: ed, Now: func() time.Time { return t0 }}
	good, _, _ := m.Mint(origin, "s")
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := m.Verify(token, origin)
		if err == nil && token != good {
			// Only a token the key signed can pass: it must carry our iss.
			if claims["iss"] != "w" {
				t.Fatalf("accepted %q", token)
			}
		}
		if err != nil && !errors.Is(err, ErrRejected) {
			t.Fatalf("unwrapped error %v", err)
		}
	})
}
