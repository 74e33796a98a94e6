package dpop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	target = "https://w.example/api/items"
	token  = "minted.token.value"
)

var now = time.Unix(1_800_000_000, 0)

func clock() time.Time { return now }

// forge signs claims and header edits with key, starting from a good proof.
func forge(t *testing.T, key any, edit func(h, c map[string]any)) string {
	t.Helper()
	var j publicJWK
	var alg string
	var err error
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		j, alg, err = jwkOf(&k.PublicKey)
	case ed25519.PrivateKey:
		j, alg, err = jwkOf(k.Public())
	}
	if err != nil {
		t.Fatal(err)
	}
	jwkMap := map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X}
	if j.Y != "" {
		jwkMap["y"] = j.Y
	}
	h := map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": jwkMap}
	c := map[string]any{"jti": rand.Text(), "htm": "GET", "htu": target, "iat": now.Unix(), "ath": ath(token)}
	if edit != nil {
		edit(h, c)
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(h["alg"].(string)), jwt.MapClaims(c))
	tok.Header = h
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProverProofIsAccepted(t *testing.T) {
	for _, name := range []string{"ES256", "EdDSA"} {
		t.Run(name, func(t *testing.T) {
			var p *Prover
			var err error
			if name == "ES256" {
				p, err = GenerateProver()
			} else {
				_, k, _ := ed25519.GenerateKey(rand.Reader)
				p, err = NewProver(k)
			}
			if err != nil {
				t.Fatal(err)
			}
			p.Now = clock
			proof, err := p.Proof("POST", "HTTPS://W.example:443/api/items?q=1#f", token)
			if err != nil {
				t.Fatal(err)
			}
			c := &Checker{Now: clock}
			got, err := c.Check(proof, "POST", target+"?other=2", token)
			if err != nil {
				t.Fatalf("a good proof: got %v, want it accepted", err)
			}
			if got.JKT != p.Thumbprint() {
				t.Errorf("jkt: got %q, want %q", got.JKT, p.Thumbprint())
			}
			if _, err := c.Check(proof, "POST", target, token); !errors.Is(err, ErrReplayed) {
				t.Errorf("the same proof again: got %v, want ErrReplayed", err)
			}
		})
	}
}

// TestThumbprintRFC8037 checks the RFC 7638 thumbprint against the
// worked Ed25519 example of RFC 8037 A.3.
func TestThumbprintRFC8037(t *testing.T) {
	j := publicJWK{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	if got, want := j.Thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("thumbprint: got %q, want %q (RFC 8037 A.3)", got, want)
	}
}

func TestCheckRefusesForgedProofs(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherJWK, _, _ := jwkOf(&other.PublicKey)
	b64 := base64.RawURLEncoding

	cases := []struct {
		name  string
		proof func() string
	}{
		{"typ jwt", func() string { return forge(t, ec, func(h, c map[string]any) { h["typ"] = "JWT" }) }},
		{"typ missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(h, "typ") }) }},
		{"alg none", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"jti": "x", "htm": "GET", "htu": target, "iat": now.Unix(), "ath": ath(token)})
			tok.Header["typ"] = "dpop+jwt"
			tok.Header["jwk"] = map[string]any{"kty": "EC", "crv": "P-256", "x": otherJWK.X, "y": otherJWK.Y}
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}},
		{"HS256 with the jwk x as secret", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"jti": "x", "htm": "GET", "htu": target, "iat": now.Unix(), "ath": ath(token)})
			tok.Header["typ"] = "dpop+jwt"
			tok.Header["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"}
			s, _ := tok.SignedString([]byte("secret"))
			return s
		}},
		{"RS256", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"jti": "x", "htm": "GET", "htu": target, "iat": now.Unix(), "ath": ath(token)})
			tok.Header["typ"] = "dpop+jwt"
			tok.Header["jwk"] = map[string]any{"kty": "RSA", "n": b64.EncodeToString(rsaKey.N.Bytes()), "e": "AQAB"}
			s, _ := tok.SignedString(rsaKey)
			return s
		}},
		{"ES384 on P-384", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{"jti": "x", "htm": "GET", "htu": target, "iat": now.Unix(), "ath": ath(token)})
			tok.Header["typ"] = "dpop+jwt"
			raw, _ := p384.PublicKey.Bytes()
			tok.Header["jwk"] = map[string]any{"kty": "EC", "crv": "P-384", "x": b64.EncodeToString(raw[1:49]), "y": b64.EncodeToString(raw[49:])}
			s, _ := tok.SignedString(p384)
			return s
		}},
		{"jwk missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(h, "jwk") }) }},
		{"jwk with private d", func() string {
			return forge(t, ec, func(h, c map[string]any) { h["jwk"].(map[string]any)["d"] = b64.EncodeToString(ec.D.Bytes()) })
		}},
		{"jwk of another key", func() string {
			return forge(t, ec, func(h, c map[string]any) {
				h["jwk"] = map[string]any{"kty": "EC", "crv": "P-256", "x": otherJWK.X, "y": otherJWK.Y}
			})
		}},
		{"EdDSA alg with an EC jwk", func() string {
			return forge(t, ed, func(h, c map[string]any) {
				h["jwk"] = map[string]any{"kty": "EC", "crv": "P-256", "x": otherJWK.X, "y": otherJWK.Y}
			})
		}},
		{"htm POST", func() string { return forge(t, ec, func(h, c map[string]any) { c["htm"] = "POST" }) }},
		{"htm get", func() string { return forge(t, ec, func(h, c map[string]any) { c["htm"] = "get" }) }},
		{"htu another path", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["htu"] = "https://w.example/api/other" })
		}},
		{"htu another host", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["htu"] = "https://evil.example/api/items" })
		}},
		{"htu http", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["htu"] = "http://w.example/api/items" })
		}},
		{"htu missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(c, "htu") }) }},
		{"iat too old", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["iat"] = now.Add(-3 * time.Minute).Unix() })
		}},
		{"iat in the future", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })
		}},
		{"iat missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(c, "iat") }) }},
		{"iat a string", func() string { return forge(t, ec, func(h, c map[string]any) { c["iat"] = "1800000000" }) }},
		{"jti missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(c, "jti") }) }},
		{"ath missing", func() string { return forge(t, ec, func(h, c map[string]any) { delete(c, "ath") }) }},
		{"ath of another token", func() string { return forge(t, ec, func(h, c map[string]any) { c["ath"] = ath("another") }) }},
		{"expired exp", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })
		}},
		{"signature of another key", func() string {
			good := forge(t, ec, nil)
			bad := forge(t, other, nil)
			return good[:strings.LastIndexByte(good, '.')] + bad[strings.LastIndexByte(bad, '.'):]
		}},
		{"too large", func() string {
			return forge(t, ec, func(h, c map[string]any) { c["pad"] = strings.Repeat("a", MaxProofSize) })
		}},
		{"empty", func() string { return "" }},
		{"garbage", func() string { return "a.b.c" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{Now: clock}
			if _, err := c.Check(tc.proof(), "GET", target, token); !errors.Is(err, ErrInvalidProof) {
				t.Errorf("got %v, want ErrInvalidProof", err)
			}
		})
	}
	// The same forge with no edit passes: the refusals above are the edits'.
	if _, err := (&Checker{Now: clock}).Check(forge(t, ec, nil), "GET", target, token); err != nil {
		t.Errorf("an unedited forge: got %v, want accepted", err)
	}
	if _, err := (&Checker{Now: clock}).Check(forge(t, ed, nil), "GET", target, token); err != nil {
		t.Errorf("an unedited EdDSA forge: got %v, want accepted", err)
	}
}

func TestReplayMemoryIsBoundedAndFailsClosed(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	at := now
	c := &Checker{Now: func() time.Time { return at }, MaxSeen: 3}
	proofs := make([]string, 4)
	for i := range proofs {
		proofs[i] = forge(t, ec, nil)
	}
	for _, p := range proofs[:3] {
		if _, err := c.Check(p, "GET", target, token); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Check(proofs[3], "GET", target, token); !errors.Is(err, ErrBusy) {
		t.Errorf("a fourth proof with three in their window: got %v, want ErrBusy", err)
	}
	if _, err := c.Check(proofs[0], "GET", target, token); !errors.Is(err, ErrReplayed) {
		t.Errorf("a replay with the memory full: got %v, want ErrReplayed", err)
	}
	// Once their window has passed they are forgotten, and so is their iat.
	at = now.Add(DefaultMaxAge + time.Second)
	fresh := forge(t, ec, func(h, c map[string]any) { c["iat"] = at.Unix() })
	if _, err := c.Check(fresh, "GET", target, token); err != nil {
		t.Errorf("a new proof after the window: got %v, want accepted", err)
	}
	if n := len(c.seen); n != 1 {
		t.Errorf("remembered: got %d, want 1", n)
	}
}

// BenchmarkCheck is one proof's check (natively; in the Worker's wasm
// see e2e TestDPoPCostInBareWorkerd).
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"ES256", "EdDSA"} {
		b.Run(name, func(b *testing.B) {
			p, _ := GenerateProver()
			if name == "EdDSA" {
				_, k, _ := ed25519.GenerateKey(rand.Reader)
				p, _ = NewProver(k)
			}
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i], _ = p.Proof("GET", target, token)
			}
			c := &Checker{}
			b.ResetTimer()
			for i := range b.N {
				if _, err := c.Check(proofs[i], "GET", target, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestParsePEM(t *testing.T) {
	text, err := GeneratePEM()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePEM(text)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := ParsePEM(text)
	if p.Thumbprint() != q.Thumbprint() {
		t.Error("one key, two thumbprints")
	}
	proof, _ := p.ProofNonce("GET", "https://api.example/x?q", "tok", "n-1")
	got, err := (&Checker{}).Check(proof, "GET", "https://api.example/x", "tok")
	if err != nil || got.JKT != p.Thumbprint() || got.Nonce != "n-1" {
		t.Errorf("a proof by the parsed key: got %+v, %v; want its thumbprint and nonce n-1", got, err)
	}
	rsa := "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n"
	for _, bad := range []string{"", "not pem", rsa, string(text[:len(text)/2])} {
		if _, err := ParsePEM([]byte(bad)); err == nil || strings.Contains(err.Error(), "MII") {
			t.Errorf("ParsePEM(%.20q): got %v, want an error that quotes nothing", bad, err)
		}
	}
}
