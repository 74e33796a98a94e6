package tokenhelper

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Source hands out one token until a refresh margin before it expires,
// then obtains the next: from the shared [Cache] if another process already
// did, with the refresh token when the provider gave one, or with the full
// grant. However many goroutines ask at once, one request is in flight.
// A Source is safe for concurrent use.
type Source struct {
	client          *Client
	cfg             Config
	fetch           func(context.Context) (*Token, error) // set by NewSourceFunc
	key             string
	cache           Cache
	margin          func(lifetime time.Duration) time.Duration
	unknownLifetime time.Duration

	cur  atomic.Pointer[held] // the last token obtained, fresh or not
	mu   sync.Mutex
	call *flight // the request in flight, if any
}

// flight is one token request that any number of callers wait for.
type flight struct {
	done    chan struct{}
	tok     *Token
	err     error
	waiters int
	cancel  context.CancelFunc
}

// held is the current token with the time it is due for renewal, worked
// out once so that the cached path is one clock read and one comparison.
type held struct {
	tok       *Token
	refreshAt time.Time
}

func (s *Source) hold(t *Token) *held {
	h := &held{tok: t}
	if t.AccessToken != "" && !t.Expiry.IsZero() {
		m := s.margin(t.Lifetime())
		if l := t.Lifetime(); l > 0 && m > l/2 {
			m = l / 2 // a margin beyond the lifetime would renew on every call
		}
		h.refreshAt = t.Expiry.Add(-m)
	}
	return h
}

// SourceOption configures a Source.
type SourceOption func(*Source)

// WithCache shares tokens through c (by default only this Source's memory).
func WithCache(c Cache) SourceOption { return func(s *Source) { s.cache = c } }

// WithRefreshMargin renews tokens d before they expire, instead of
// [DefaultMargin].
func WithRefreshMargin(d time.Duration) SourceOption {
	return func(s *Source) { s.margin = func(time.Duration) time.Duration { return d } }
}

// WithUnknownLifetime sets how long a token whose expiry is unknown (no
// expires_in and no exp claim) is reused; the default is 5 minutes.
func WithUnknownLifetime(d time.Duration) SourceOption {
	return func(s *Source) { s.unknownLifetime = d }
}

// DefaultMargin is the smaller of 60 s and a tenth of the lifetime: a 24 h
// token is renewed a minute early, a 5 minute token 30 s early.
func DefaultMargin(lifetime time.Duration) time.Duration {
	if lifetime <= 0 {
		return time.Minute
	}
	return min(time.Minute, lifetime/10)
}

// NewSource returns a Source for cfg, or an [ErrConfig] error.
func NewSource(c *Client, cfg Config, opts ...SourceOption) (*Source, error) {
	r, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	s := &Source{client: c, cfg: r, key: CacheKey(r), margin: DefaultMargin, unknownLifetime: 5 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// NewSourceFunc returns a Source whose tokens come from fetch instead of a
// Config ([NewWorkerSource] is one, fed by POSTs to a tokenhelper Worker).
// It caches, shares and renews exactly as NewSource does, without refresh
// tokens. key names the tokens in the Cache; c supplies the clock (its
// Transport is unused).
func NewSourceFunc(c *Client, key string, fetch func(context.Context) (*Token, error), opts ...SourceOption) *Source {
	s := &Source{client: c, fetch: fetch, key: key, margin: DefaultMargin, unknownLifetime: 5 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Token returns a token valid for at least the refresh margin. The caller
// must not modify it.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	if h := s.cur.Load(); h != nil && s.client.clock().Now().Before(h.refreshAt) {
		return h.tok, nil
	}
	s.mu.Lock()
	// A flight may have ended between the check above and the lock.
	if h := s.cur.Load(); h != nil && s.client.clock().Now().Before(h.refreshAt) {
		s.mu.Unlock()
		return h.tok, nil
	}
	f := s.call
	if f == nil {
		// The request outlives any one caller: it is canceled only when
		// every caller waiting for it has given up.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		s.call = f
		go s.run(fctx, f)
	}
	f.waiters++
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		s.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
		}
		s.mu.Unlock()
		return nil, contextError(ctx.Err())
	}
}

// Invalidate drops tok (typically after an API answered 401 with it) so
// that the next Token call obtains a new one. A token other than the
// current one is ignored, so that callers holding an old token cannot
// throw away a new one. Its refresh token is kept for the renewal.
func (s *Source) Invalidate(ctx context.Context, tok *Token) {
	h := s.cur.Load()
	if tok == nil || h == nil || h.tok.AccessToken != tok.AccessToken {
		return
	}
	s.cur.CompareAndSwap(h, &held{tok: &Token{RefreshToken: h.tok.RefreshToken}})
	if s.cache != nil {
		if c, err := s.cache.Get(ctx, s.key); err == nil && c != nil && c.AccessToken == tok.AccessToken {
			s.cache.Delete(ctx, s.key)
		}
	}
}

// fresh reports whether t can still be handed out at now.
func (s *Source) fresh(t *Token, now time.Time) bool {
	return now.Before(s.hold(t).refreshAt)
}

func (s *Source) run(ctx context.Context, f *flight) {
	defer f.cancel()
	f.tok, f.err = s.obtain(ctx)
	if f.err == nil {
		s.cur.Store(s.hold(f.tok))
	}
	s.mu.Lock()
	s.call = nil
	s.mu.Unlock()
	close(f.done)
}

// obtain gets the next token: shared cache, then refresh, then full grant.
func (s *Source) obtain(ctx context.Context) (*Token, error) {
	clock := s.client.clock()
	var stale *Token
	if h := s.cur.Load(); h != nil {
		stale = h.tok
	}
	if s.cache != nil {
		// A failing cache is only a slower path, never an error.
		if t, err := s.cache.Get(ctx, s.key); err == nil && t != nil {
			if s.fresh(t, clock.Now()) {
				return t, nil
			}
			if stale == nil || stale.RefreshToken == "" {
				stale = t
			}
		}
	}
	var tok *Token
	var err error
	if s.fetch != nil {
		if tok, err = s.fetch(ctx); err != nil {
			return nil, err
		}
	} else if stale != nil && stale.RefreshToken != "" && s.cfg.GrantType != GrantRefreshToken {
		rc := s.cfg
		rc.GrantType, rc.RefreshToken = GrantRefreshToken, stale.RefreshToken
		tok, err = s.client.Token(ctx, rc)
		if err == nil && tok.RefreshToken == "" {
			tok.RefreshToken = stale.RefreshToken // RFC 6749 6: the old one stays valid
		}
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
	}
	if tok == nil {
		// No refresh token, or refreshing failed: the full grant.
		if tok, err = s.client.Token(ctx, s.cfg); err != nil {
			return nil, err
		}
	}
	if tok.Expiry.IsZero() {
		tok.Expiry = tok.Obtained.Add(s.unknownLifetime)
	}
	if s.cache != nil {
		s.cache.Put(ctx, s.key, tok, tok.Expiry)
	}
	return tok, nil
}

// contextError turns a context's error into an [*Error].
func contextError(err error) error {
	if err == context.DeadlineExceeded {
		return &Error{Kind: ErrTimeout, Code: CodeTimeout, Err: err}
	}
	return &Error{Kind: ErrNetwork, Code: CodeNetwork, Err: err}
}
