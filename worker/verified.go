package worker

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCap bounds the verified-token cache; when full it starts over.
const verifiedCap = 4096

// verifiedCache remembers the minted tokens /api/ has already verified,
// so that the signature check (Ed25519 in Go, the largest share of an
// /api/ call's own time) runs once per token rather than once per call.
// An entry is named by a hash of the issuer, the origin and the whole
// token, and lasts until the token's exp: exactly the calls a fresh
// verification would accept (it allows a few seconds of leeway beyond).
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedToken
}

// verifiedToken is what /api/ needs of a verified token: its exp and the
// DPoP key thumbprint it is bound to ("" for a bearer token).
type verifiedToken struct {
	exp time.Time
	jkt string
}

func verifiedKey(issuer, origin, token string) [32]byte {
	return sha256.Sum256([]byte(issuer + "\x00" + origin + "\x00" + token))
}

// valid reports whether key was verified and its token has not expired,
// and the key thumbprint the token is bound to.
func (c *verifiedCache) valid(key [32]byte, now time.Time) (jkt string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if ok && !now.Before(v.exp) {
		delete(c.m, key)
		return "", false
	}
	return v.jkt, ok
}

// add remembers key, bound to jkt, until exp.
func (c *verifiedCache) add(key [32]byte, exp time.Time, jkt string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedCap {
		c.m = make(map[[32]byte]verifiedToken) // forget everyone rather than grow
	}
	c.m[key] = verifiedToken{exp, jkt}
}
