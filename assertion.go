package tokenhelper

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"
)

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 section 2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid: well within
// the 5 minutes asked for, long enough for a slow network and a retry.
const AssertionLifetime = 2 * time.Minute

// AssertionSigner signs client assertions. The claims are made here (see
// [AssertionClaims]); the signer only adds the JOSE header (alg, typ JWT,
// and kid if it has one) and the signature, so that this package needs no
// cryptography: package assertion signs with golang-jwt natively, and a
// browser would sign with WebCrypto.
type AssertionSigner interface {
	// SignJWT returns the compact JWS of claims, a JSON object.
	SignJWT(claims []byte) (string, error)
}

// AssertionClaims returns the claims of a client assertion (RFC 7523
// section 3, OpenID Connect Core section 9), a JSON object: iss and sub
// the client ID, aud the audience, a random jti, iat now and exp
// AssertionLifetime later.
//
// The audience is the issuer when it is known and the token endpoint
// otherwise (see [Config.Issuer]): OpenID Connect Core 9 asks for the
// token endpoint, RFC 7523 allows either, and the issuer alone is what
// draft-ietf-oauth-rfc7523bis requires since an assertion addressed to a
// token endpoint can be replayed by a malicious server that names that
// endpoint as its own (the 2025 audience injection attack). oidc-provider
// accepts both.
func AssertionClaims(clientID, audience string, now time.Time) []byte {
	// jti only has to be unique, not secret: math/rand/v2's ChaCha8,
	// seeded by the runtime, keeps crypto/rand out of the browser's
	// WebAssembly, as newBoundary does.
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	iat := now.Unix()
	return []byte(`{"iss":` + jsonEscape(clientID) + `,"sub":` + jsonEscape(clientID) +
		`,"aud":` + jsonEscape(audience) + `,"jti":"` + hex.EncodeToString(id[:]) +
		`","iat":` + strconv.FormatInt(iat, 10) + `,"exp":` + strconv.FormatInt(iat+int64(AssertionLifetime/time.Second), 10) + `}`)
}

// assertion reports whether the style sends a client assertion.
func (a AuthStyle) assertion() bool { return a == AuthPrivateKeyJWT || a == AuthClientSecretJWT }

// assertionAudience is the aud of c's client assertions: see
// [AssertionClaims].
func (c Config) assertionAudience() string {
	if c.Issuer != "" {
		return c.Issuer
	}
	return c.TokenURL
}
