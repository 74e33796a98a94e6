package mint

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tokenhelper/tokenhelper/verify"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Minter issues and verifies worker tokens.
type Minter struct {
	// Issuer is the iss claim: the Worker's own origin.
	Issuer string
	// TTL is the lifetime of a minted token (at most; default 5 minutes).
	TTL time.Duration
	// Current signs new tokens.
	Current *Key
	// Previous, when set, still verifies tokens it signed before RotatedAt,
	// until RotatedAt + TTL: after that every token it signed has expired,
	// so it is refused outright.
	Previous  *Key
	RotatedAt time.Time
	// Leeway tolerates clock skew (default 5 s: the Worker checks its own
	// tokens, so skew is small).
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultTTL is the lifetime of a minted token unless TOKEN_TTL says less.
const DefaultTTL = 5 * time.Minute

// ErrRejected wraps every verification failure.
var ErrRejected = errors.New("mint: token rejected")

func (m *Minter) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Minter) ttl() time.Duration {
	if m.TTL <= 0 {
		return DefaultTTL
	}
	return m.TTL
}

// Mint returns a token for the browser at origin aud, for caller sub
// (empty when no caller identity was verified), and its expiry.
func (m *Minter) Mint(aud, sub string) (string, time.Time, error) {
	return m.MintBound(aud, sub, "")
}

// MintBound is Mint for a token bound to a DPoP key (RFC 9449 6.1): with
// jkt, the key's RFC 7638 thumbprint, as its cnf.jkt claim; "" mints a
// bearer token.
func (m *Minter) MintBound(aud, sub, jkt string) (string, time.Time, error) {
	if m.Current == nil {
		return "", time.Time{}, errors.New("mint: no signing key")
	}
	now := m.now()
	exp := now.Add(m.ttl())
	var jti [16]byte
	rand.Read(jti[:])
	claims := jwt.MapClaims{
		"iss": m.Issuer, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if jkt != "" {
		claims["cnf"] = map[string]string{"jkt": jkt}
	}
	t := jwt.NewWithClaims(m.Current.method, claims)
	t.Header["kid"] = m.Current.kid
	s, err := t.SignedString(m.Current.sign)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint: %w", err)
	}
	return s, time.Unix(exp.Unix(), 0), nil
}

// Verify checks a minted token for the browser at origin aud: signature
// with an allowed algorithm only, exp (required), nbf and iat with leeway,
// issuer, audience, and a lifetime no longer than the TTL.
func (m *Minter) Verify(token, aud string) (jwt.MapClaims, error) {
	leeway := m.Leeway
	if leeway == 0 {
		leeway = 5 * time.Second
	}
	claims, err := verify.JWT(token, keySet{m}, verify.Options{
		Issuer: m.Issuer, Audience: aud, Leeway: leeway, Now: m.now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp.Sub(iat.Time) > m.ttl() {
		return nil, fmt.Errorf("%w: lifetime longer than the TTL", ErrRejected)
	}
	return claims, nil
}

// JKT returns the cnf.jkt of verified claims: the thumbprint of the DPoP
// key the token is bound to, or "" for a bearer token.
func JKT(claims jwt.MapClaims) string {
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// keySet picks the current or, within the rotation window, the previous
// key by kid.
type keySet struct{ m *Minter }

func (s keySet) Methods() []string {
	out := []string{s.m.Current.alg}
	if p := s.m.Previous; p != nil && p.alg != out[0] {
		out = append(out, p.alg)
	}
	return out
}

func (s keySet) Key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	alg := t.Method.Alg()
	if c := s.m.Current; kid == c.kid && alg == c.alg {
		return c.verify, nil
	}
	if p := s.m.Previous; p != nil && kid == p.kid && alg == p.alg {
		if !s.m.now().Before(s.m.RotatedAt.Add(s.m.ttl())) {
			return nil, errors.New("signed with the previous key after its rotation window")
		}
		iat, err := t.Claims.GetIssuedAt()
		if err != nil || iat == nil || iat.After(s.m.RotatedAt) {
			return nil, errors.New("signed with the previous key after the rotation")
		}
		return p.verify, nil
	}
	return nil, errors.New("unknown key")
}

// JWKS returns the public keys (current, then previous within its window)
// as a JWKS document; HS256 keys are never published.
func (m *Minter) JWKS() []byte {
	keys := []map[string]string{}
	for _, k := range []*Key{m.Current, m.Previous} {
		if k == nil || k.jwk == nil || (k == m.Previous && !m.now().Before(m.RotatedAt.Add(m.ttl()))) {
			continue
		}
		keys = append(keys, k.jwk)
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}
