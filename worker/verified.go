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
	m  map[[32]byte]time.Time
}

func verifiedKey(issuer, origin, token string) [32]byte {
	return sha256.Sum256([]byte(issuer + "\x00" + origin + "\x00" + token))
}

// valid reports whether key was verified and its token has not expired.
func (c *verifiedCache) valid(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[key]
	if ok && !now.Before(exp) {
		delete(c.m, key)
		return false
	}
	return ok
}

// add remembers key until exp.
func (c *verifiedCache) add(key [32]byte, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedCap {
		c.m = make(map[[32]byte]time.Time) // forget everyone rather than grow
	}
	c.m[key] = exp
}
