package demoprovider

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the iss claim of every token the server signs. It is a constant
// rather than the server's URL so that tokens do not depend on the port or
// on the Host header a proxy forwards.
const Issuer = "demo-provider"

// signer holds the Ed25519 key generated for one server.
type signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
	jwks []byte
}

func newSigner() *signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil { // crypto/rand does not fail on supported platforms
		panic("demoprovider: generating the signing key: " + err.Error())
	}
	x := base64.RawURLEncoding.EncodeToString(pub)
	// RFC 7638 thumbprint: members in lexicographic order, no whitespace.
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig",
	}}})
	return &signer{priv: priv, pub: pub, kid: kid, jwks: jwks}
}

// sign returns claims as a compact EdDSA JWT carrying the key id.
func (s *signer) sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = s.kid
	return t.SignedString(s.priv)
}

// PublicJWKS returns the JSON Web Key Set that verifies the server's tokens,
// as served at /.well-known/jwks.json.
func (s *Server) PublicJWKS() []byte {
	return append([]byte(nil), s.keys.jwks...)
}

// grantInfo is what a token is issued for.
type grantInfo struct {
	profile  *profile
	clientID string
	subject  string
	audience string
	scope    string
	// resources (custom profile) replace audience in aud: one resource
	// as a string, several as an array (RFC 7519 4.1.3).
	resources []string
	// jkt binds the access token to a DPoP key (cnf.jkt, RFC 9449 6.1).
	jkt string
}

// mint signs an access token and, when withID is set, an id_token for g.
func (s *Server) mint(g grantInfo, withID bool) (access, id string, expiresIn int64, err error) {
	iat := s.now().Unix()
	expiresIn = s.expiresIn()
	claims := jwt.MapClaims{
		"iss":       Issuer,
		"sub":       g.subject,
		"aud":       g.audience,
		"iat":       iat,
		"exp":       iat + expiresIn,
		"jti":       randomString(16),
		"client_id": g.clientID,
		"provider":  g.profile.id,
	}
	if g.scope != "" {
		claims["scope"] = g.scope
	}
	if g.jkt != "" {
		claims["cnf"] = map[string]string{"jkt": g.jkt}
	}
	switch len(g.resources) {
	case 0:
	case 1:
		claims["aud"] = g.resources[0]
	default:
		claims["aud"] = g.resources
	}
	if access, err = s.keys.sign(claims); err != nil {
		return "", "", 0, err
	}
	if withID {
		idClaims := jwt.MapClaims{}
		for k, v := range claims {
			idClaims[k] = v
		}
		delete(idClaims, "cnf")      // an id_token is no access token
		idClaims["aud"] = g.clientID // OpenID Connect Core 2: aud holds the client id
		idClaims["jti"] = randomString(16)
		idClaims["name"] = g.subject
		if id, err = s.keys.sign(idClaims); err != nil {
			return "", "", 0, err
		}
	}
	return access, id, expiresIn, nil
}

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails, see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxRefreshTokens bounds the refresh token memory; the oldest go first.
const maxRefreshTokens = 10000

// refreshStore remembers issued refresh tokens until they are used.
type refreshStore struct {
	mu     sync.Mutex
	seq    uint64
	grants map[string]refreshEntry
}

type refreshEntry struct {
	grantInfo
	seq uint64
}

// issue stores g and returns a new refresh token for it.
func (rs *refreshStore) issue(g grantInfo) string {
	token := randomString(32)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.grants == nil {
		rs.grants = map[string]refreshEntry{}
	}
	if len(rs.grants) >= maxRefreshTokens {
		oldest, oldestSeq := "", ^uint64(0)
		for k, e := range rs.grants {
			if e.seq < oldestSeq {
				oldest, oldestSeq = k, e.seq
			}
		}
		delete(rs.grants, oldest)
	}
	rs.seq++
	rs.grants[token] = refreshEntry{grantInfo: g, seq: rs.seq}
	return token
}

// lookup returns the grant behind a live refresh token of profile p.
func (rs *refreshStore) lookup(token string, p *profile) (grantInfo, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	e, ok := rs.grants[token]
	if !ok || e.profile != p {
		return grantInfo{}, false
	}
	return e.grantInfo, true
}

// consume removes a refresh token, reporting whether it was still live (a
// concurrent request may have used it first).
func (rs *refreshStore) consume(token string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.grants[token]; !ok {
		return false
	}
	delete(rs.grants, token)
	return true
}
