package tokenhelper

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// Cache stores tokens between requests, processes or isolates, so that
// many of them share one token. The Worker backs it with the Workers Cache
// API; [MemoryCache] serves one process.
//
// Implementations must be safe for concurrent use. A Cache may lose
// entries at any time: the [Source] then simply fetches a new token.
type Cache interface {
	// Get returns the token stored under key, or nil (and no error) when
	// there is none.
	Get(ctx context.Context, key string) (*Token, error)
	// Put stores tok under key until the given time.
	Put(ctx context.Context, key string, tok *Token, until time.Time) error
	// Delete removes the entry, if any.
	Delete(ctx context.Context, key string) error
}

// CacheKey returns the cache key of the tokens cfg obtains: a hash of
// everything that shapes the request: the provider, token URL, body
// encoding, client authentication, grant type, client ID, username,
// audience, scope, resource indicators, the issuer of a discovered
// endpoint and the public key of a private_key_jwt signer. A
// configuration change therefore never reuses a token obtained under the
// old one.
//
// The client secret and the password are left out on purpose: a hash of
// a password in a store shared between processes or isolates invites
// offline guessing. A holder that shares tokens binds them to the
// credentials with [WithCredentialID], a fingerprint it computes so that
// it tests no guess (package fingerprint): otherwise a wrong or rotated
// secret would be handed the token cached with the right one.
//
// The hash (FNV-1a, 128 bits) only names entries: it protects nothing,
// since whoever can read the cache can compute the key from the
// configuration anyway, and it keeps crypto's FIPS module (about 50 KB
// gzip) out of the browser's WebAssembly.
func CacheKey(cfg Config) string {
	if r, err := cfg.Resolved(); err == nil {
		cfg = r
	}
	h := fnv.New128a()
	for _, s := range []string{cfg.Provider, cfg.TokenURL, cfg.Encoding.String(), cfg.AuthStyle.String(),
		cfg.GrantType, cfg.ClientID, cfg.Username, cfg.Audience, cfg.Scope, strings.Join(cfg.Resource, " ")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	// Added only when set, so that the keys of other configurations stay
	// as they were: the issuer of a Config that discovers its endpoint,
	// and the public half of a private_key_jwt key (not secret: it tells a
	// rotated or wrong key from the right one, as the fingerprint of
	// WithCredentialID does for secrets).
	if cfg.Issuer != "" {
		h.Write([]byte("issuer\x00" + cfg.Issuer + "\x00"))
	}
	if m, ok := cfg.Assertion.(interface{ CredentialMaterial() []byte }); ok {
		if b := m.CredentialMaterial(); len(b) > 0 {
			h.Write([]byte("assertion key\x00"))
			h.Write(b)
		}
	}
	if cfg.DPoP != nil {
		// A token bound to one key is useless with another.
		h.Write([]byte("dpop\x00" + cfg.DPoP.Thumbprint() + "\x00"))
	}
	return "th2-" + hex.EncodeToString(h.Sum(nil))
}

// MemoryCache is a Cache in this process's memory.
type MemoryCache struct {
	// Now is the clock that expires entries (default time.Now).
	Now func() time.Time

	mu sync.Mutex
	m  map[string]memoryEntry
}

type memoryEntry struct {
	tok   Token
	until time.Time
}

// Get returns a copy of the stored token, or nil once it has expired.
func (c *MemoryCache) Get(_ context.Context, key string) (*Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, nil
	}
	if !e.until.IsZero() && !c.now().Before(e.until) {
		delete(c.m, key)
		return nil, nil
	}
	t := e.tok
	return &t, nil
}

// Put stores a copy of tok.
func (c *MemoryCache) Put(_ context.Context, key string, tok *Token, until time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]memoryEntry{}
	}
	c.m[key] = memoryEntry{tok: *tok, until: until}
	return nil
}

// Delete removes key.
func (c *MemoryCache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

func (c *MemoryCache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}
