// Package verify checks JWT signatures (RFC 7515, 7519) with
// github.com/golang-jwt/jwt/v5: an HS256 key or a JWKS (RFC 7517) of RS256,
// ES256 and EdDSA keys, always restricting the accepted algorithms to those
// of the keys and requiring exp. The Worker uses it for caller identity
// JWTs and its own minted tokens; it is a package of its own so that
// binaries that only decode tokens (the browser's WebAssembly) do not carry
// golang-jwt's crypto.
package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet supplies verification keys and the signing methods they allow.
// Build one with [NewHMACKey] or [ParseJWKS].
type KeySet interface {
	// Methods lists the only "alg" values a token may carry.
	Methods() []string
	// Key returns the key for a parsed (not yet verified) token.
	Key(t *jwt.Token) (any, error)
}

// Options restricts what [JWT] accepts.
type Options struct {
	// Issuer, when set, must equal the iss claim.
	Issuer string
	// Audience, when set, must be one of the aud claim's values.
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat; 0 means 30 s.
	// A larger leeway keeps expired tokens usable for longer.
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultLeeway is the clock skew [JWT] tolerates by default.
const DefaultLeeway = 30 * time.Second

// JWT checks a token's signature with keys, accepting only keys.Methods()
// (so "alg": "none" and algorithm confusion are refused), requires an exp
// claim, checks exp, nbf and iat with leeway, and the issuer and audience
// when set. Errors wrap golang-jwt's sentinels (jwt.ErrTokenExpired,
// jwt.ErrTokenSignatureInvalid, ...).
func JWT(token string, keys KeySet, opts Options) (jwt.MapClaims, error) {
	if keys == nil {
		return nil, errors.New("verify: no verification keys")
	}
	leeway := opts.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(keys.Methods()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		// One spelling per token: a lax decoder accepts other last
		// characters for the same signature, which would defeat anything
		// keyed on the token string (a deny list, a replay check).
		jwt.WithStrictDecoding(),
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, keys.Key, popts...); err != nil {
		return nil, fmt.Errorf("verify: token not accepted: %w", err)
	}
	return claims, nil
}

// hmacKey verifies HS256 tokens.
type hmacKey []byte

// MinHMACKeyLen is the shortest HS256 key accepted: RFC 7518 section 3.2
// requires a key at least as long as the hash output.
const MinHMACKeyLen = 32

// NewHMACKey returns a KeySet that verifies HS256 with secret.
func NewHMACKey(secret []byte) (KeySet, error) {
	if len(secret) < MinHMACKeyLen {
		return nil, fmt.Errorf("verify: HS256 key has %d bytes, need at least %d (RFC 7518 3.2)", len(secret), MinHMACKeyLen)
	}
	return hmacKey(append([]byte(nil), secret...)), nil
}

// Methods returns HS256.
func (k hmacKey) Methods() []string { return []string{"HS256"} }

// Key returns the secret.
func (k hmacKey) Key(*jwt.Token) (any, error) { return []byte(k), nil }
