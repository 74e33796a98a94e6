package worker

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// Store keeps small values between requests and isolates: the Workers
// Cache API or KV in the Worker, [MemoryStore] natively. A Store may lose
// entries at any time; callers then do the work again.
type Store interface {
	// Get returns the value stored under key, or nil and no error when
	// there is none (or it has expired).
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value under key for ttl.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key, if present.
	Delete(ctx context.Context, key string) error
}

// MemoryStore is a Store in this process's memory.
type MemoryStore struct {
	// Now is the clock that expires entries (default time.Now).
	Now func() time.Time

	mu sync.Mutex
	m  map[string]memoryValue
}

type memoryValue struct {
	v     []byte
	until time.Time
}

func (s *MemoryStore) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.until) {
		delete(s.m, key)
		return nil, nil
	}
	return append([]byte(nil), e.v...), nil
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]memoryValue{}
	}
	s.m[key] = memoryValue{v: append([]byte(nil), value...), until: s.now().Add(ttl)}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// TokenCache is the core's tokenhelper.Cache over a Store. An entry lives
// until the token's refresh margin (the point where a Source would renew
// it anyway), so an expired entry never costs a read of a useless token.
// The id_token is not stored: pass mode never hands it out.
type TokenCache struct {
	Store Store
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Margin is the Source's refresh margin (default
	// tokenhelper.DefaultMargin).
	Margin func(lifetime time.Duration) time.Duration
}

// Get implements tokenhelper.Cache.
func (c *TokenCache) Get(ctx context.Context, key string) (*tokenhelper.Token, error) {
	b, err := c.Store.Get(ctx, key)
	if err != nil || b == nil {
		return nil, err
	}
	var t tokenhelper.Token
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" {
		return nil, nil // a damaged entry is a miss
	}
	return &t, nil
}

// Put implements tokenhelper.Cache.
func (c *TokenCache) Put(ctx context.Context, key string, tok *tokenhelper.Token, until time.Time) error {
	margin := tokenhelper.DefaultMargin
	if c.Margin != nil {
		margin = c.Margin
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := until.Add(-margin(tok.Lifetime())).Sub(now())
	if ttl <= 0 {
		return nil
	}
	t := *tok
	t.IDToken = ""
	b, err := json.Marshal(&t)
	if err != nil {
		return err
	}
	return c.Store.Put(ctx, key, b, ttl)
}

// Delete implements tokenhelper.Cache.
func (c *TokenCache) Delete(ctx context.Context, key string) error {
	return c.Store.Delete(ctx, key)
}
