package tokenhelper

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Source hands out one token until a refresh margin before it expires,
// then obtains the next: from the shared [Cache] if another holder already
// did, with the refresh token when the provider gave one, or with the full
// grant. However many goroutines ask at once, one request is in flight.
//
// A token has three states, as in cloud.google.com/go/auth: fresh (before
// the margin) is handed out at once; stale (inside the margin, still
// valid) is handed out at once too while one renewal runs in the
// background; only without a valid token does a caller wait. A renewal
// that fails leaves the held token in service until it expires and backs
// off: the next attempt comes after 1 s, doubling with each consecutive
// failure up to 30 s (at least the provider's Retry-After, up to 5 min).
// Without a valid token, calls inside that window fail at once with the
// failure they repeat ([Error.Repeated]), without a request, so that a
// busy program cannot hammer a provider that is down or refusing it.
//
// A Source is safe for concurrent use.
type Source struct {
	client          *Client
	cfg             Config
	fetch           func(context.Context) (*Token, error) // set by NewSourceFunc
	key             string
	cache           Cache
	coord           Coordinator
	margin          func(lifetime time.Duration) time.Duration
	unknownLifetime time.Duration
	invalidateFloor time.Duration
	credID          string     // see WithCredentialID
	dpop            DPoPProver // the key its tokens are bound to, if any

	cur atomic.Pointer[held] // the last token obtained, fresh or not
	// seen is a stale but maybe still valid token the last renewal found
	// in the shared Cache: if renewing fails, it serves until it expires.
	seen atomic.Pointer[Token]
	mu   sync.Mutex
	call *flight  // the request in flight, if any
	fail *failure // the last renewal's failure, while its backoff lasts
	// forced is when Invalidate last dropped a token (see InvalidateFloor).
	forced time.Time
	// refused is the token Invalidate last dropped, until the renewal
	// that replaces it starts (see RefusedToken).
	refused *Token
	// dropped is the access token Invalidate last dropped: a shared Cache
	// may still hold it (its Delete comes after the drop, and another
	// holder may publish it again), and it must not come back from there.
	dropped string
}

// flight is one token request that any number of callers wait for.
type flight struct {
	done       chan struct{}
	tok        *Token
	err        error
	waiters    int
	background bool // started to renew a still valid token: no caller may cancel it
	cancel     context.CancelFunc
}

// failure is the last failed renewal and the backoff that follows it.
type failure struct {
	err   *Error
	count int       // consecutive failures
	until time.Time // no new attempt before this
}

// Backoff after a failed renewal: the window starts at BackoffMin,
// doubles with each consecutive failure up to BackoffMax, and is at least
// the provider's Retry-After, up to BackoffRetryAfterMax.
const (
	BackoffMin           = time.Second
	BackoffMax           = 30 * time.Second
	BackoffRetryAfterMax = 5 * time.Minute
)

// BackoffWindow is how long a Source waits after the n-th consecutive
// failed renewal (n >= 1), the last one being e: [BackoffMin] doubled per
// failure up to [BackoffMax], at least e's Retry-After up to
// [BackoffRetryAfterMax]. A holder that keeps its backoff elsewhere (the
// command keeps it on disk between invocations) applies the same policy.
func BackoffWindow(n int, e *Error) time.Duration {
	d := BackoffMax
	if n <= 6 { // 1 s << 5 = 32 s already exceeds the cap
		d = min(BackoffMax, BackoffMin<<(n-1))
	}
	if e.RetryAfter > d {
		d = min(e.RetryAfter, BackoffRetryAfterMax)
	}
	return d
}

// held is the current token with the time it is due for renewal, worked
// out once so that the cached path is one clock read and one comparison.
type held struct {
	tok       *Token
	refreshAt time.Time
}

// valid reports whether the held token may still be handed out at now:
// it has an access token and has not expired.
func (h *held) valid(now time.Time) bool {
	return h != nil && h.tok.AccessToken != "" && now.Before(h.tok.Expiry)
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

// NewSource returns a Source for cfg, or an [ErrConfig] error.
func NewSource(c *Client, cfg Config, opts ...SourceOption) (*Source, error) {
	r, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	s := &Source{client: c, cfg: r, dpop: r.DPoP, key: CacheKey(r), margin: DefaultMargin, unknownLifetime: 5 * time.Minute, invalidateFloor: InvalidateFloor}
	for _, o := range opts {
		o(s)
	}
	if s.credID != "" {
		s.key += "-" + s.credID
	}
	return s, nil
}

// NewSourceFunc returns a Source whose tokens come from fetch instead of a
// Config ([NewWorkerSource] is one, fed by POSTs to a tokenhelper Worker).
// It caches, shares and renews exactly as NewSource does, without refresh
// tokens. key names the tokens in the Cache; c supplies the clock (its
// Transport is unused).
func NewSourceFunc(c *Client, key string, fetch func(context.Context) (*Token, error), opts ...SourceOption) *Source {
	s := &Source{client: c, fetch: fetch, key: key, margin: DefaultMargin, unknownLifetime: 5 * time.Minute, invalidateFloor: InvalidateFloor}
	for _, o := range opts {
		o(s)
	}
	return s
}

// DPoPProver returns the key this Source's tokens are bound to
// (Config.DPoP, WorkerConfig.DPoP), or nil: nethttp.NewClient makes the
// proofs of its requests with it.
func (s *Source) DPoPProver() DPoPProver { return s.dpop }

// Key returns the name of this Source's tokens in a [Cache] and for a
// [Coordinator]: [CacheKey] of its Config (followed by the id of
// [WithCredentialID]), or the key it was given.
func (s *Source) Key() string { return s.key }

// Token returns a valid token: the held one while it is fresh, or while
// it is stale but valid (renewing it in the background), else a new one.
// The caller must not modify it.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	now := s.client.clock().Now()
	if h := s.cur.Load(); h != nil && now.Before(h.refreshAt) {
		return h.tok, nil
	}
	s.mu.Lock()
	// A flight may have ended between the check above and the lock.
	h := s.cur.Load()
	if h != nil && now.Before(h.refreshAt) {
		s.mu.Unlock()
		return h.tok, nil
	}
	if h.valid(now) {
		if s.call == nil && s.mayTry(now) {
			s.start(ctx, true)
		}
		s.mu.Unlock()
		return h.tok, nil
	}
	f := s.call
	if f == nil {
		if !s.mayTry(now) {
			err := s.fail.repeat(now)
			s.mu.Unlock()
			return nil, err
		}
		f = s.start(ctx, false)
	}
	f.waiters++
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		s.mu.Lock()
		if f.waiters--; f.waiters == 0 && !f.background {
			f.cancel()
		}
		s.mu.Unlock()
		return nil, contextError(ctx.Err())
	}
}

// mayTry reports whether the backoff after the last failure is over. The
// caller holds s.mu.
func (s *Source) mayTry(now time.Time) bool {
	return s.fail == nil || !now.Before(s.fail.until)
}

// start begins a flight; the caller holds s.mu. The request outlives any
// one caller: it is canceled only when every caller waiting for it has
// given up, and a background renewal never is.
func (s *Source) start(ctx context.Context, background bool) *flight {
	ctx = context.WithoutCancel(ctx)
	if s.refused != nil {
		ctx = context.WithValue(ctx, refusedKey{}, s.refused)
		s.refused = nil
	}
	fctx, cancel := context.WithCancel(ctx)
	f := &flight{done: make(chan struct{}), cancel: cancel, background: background}
	s.call = f
	go s.run(fctx, f)
	return f
}

// repeat is the failure given again, without a request, at now: the same
// kind, code and status, with RetryAfter saying when the next attempt
// will be made.
func (f *failure) repeat(now time.Time) error {
	e := *f.err
	e.Repeated = true
	e.RetryAfter = f.until.Sub(now)
	return &e
}

// Invalidate drops tok (typically after an API answered 401 with it) so
// that the next Token call obtains a new one. A token other than the
// current one is ignored, so that callers holding an old token cannot
// throw away a new one. Its refresh token is kept for the renewal.
//
// At most one Invalidate per [InvalidateFloor] (or [WithInvalidateFloor])
// drops a token: within the floor the current token stays, however many
// 401s arrive, so that an API refusing every call costs the provider one
// request a floor, not one a call. The renewal that follows carries the
// dropped token in its context ([RefusedToken]), for a Coordinator that
// takes its tokens from another holder to pass on.
func (s *Source) Invalidate(ctx context.Context, tok *Token) {
	h := s.cur.Load()
	if tok == nil || h == nil || h.tok.AccessToken != tok.AccessToken {
		return
	}
	now := s.client.clock().Now()
	s.mu.Lock()
	if !s.forced.IsZero() && now.Sub(s.forced) < s.invalidateFloor {
		s.mu.Unlock()
		return
	}
	dropped := s.cur.CompareAndSwap(h, &held{tok: &Token{RefreshToken: h.tok.RefreshToken}})
	if dropped {
		s.forced, s.refused, s.dropped = now, h.tok, h.tok.AccessToken
	}
	s.mu.Unlock()
	if !dropped {
		return
	}
	if s.cache != nil {
		if c, err := s.cache.Get(ctx, s.key); err == nil && c != nil && c.AccessToken == tok.AccessToken {
			s.cache.Delete(ctx, s.key)
		}
	}
}

type refusedKey struct{}

// RefusedToken returns, inside a renewal that follows [Source.Invalidate]
// (the context a [Coordinator]'s Renew is given), the token Invalidate
// dropped; else nil. A Coordinator that takes its tokens from another
// holder instead of renewing (the Worker's TOKEN_HOLDER object) passes
// it on, so that the other holder drops it too, by the same rules (only
// while it is its current token, at most once per floor), instead of
// handing the refused token back.
func RefusedToken(ctx context.Context) *Token {
	t, _ := ctx.Value(refusedKey{}).(*Token)
	return t
}

// fresh reports whether t can still be handed out at now.
func (s *Source) fresh(t *Token, now time.Time) bool {
	return now.Before(s.hold(t).refreshAt)
}

func (s *Source) run(ctx context.Context, f *flight) {
	defer f.cancel()
	if s.coord != nil {
		f.tok, f.err = s.coord.Renew(ctx, s.key, s.obtain)
	} else {
		f.tok, f.err = s.obtain(ctx)
	}
	if f.err == nil && (f.tok == nil || f.tok.AccessToken == "") {
		f.tok, f.err = nil, &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Description: "the renewal gave no token"}
	}
	seen := s.seen.Swap(nil)
	s.mu.Lock()
	switch {
	case f.err == nil:
		s.cur.Store(s.hold(f.tok))
		s.fail = nil
	case ctx.Err() == nil: // not a flight every caller gave up on
		e, ok := f.err.(*Error)
		if !ok {
			e = &Error{Kind: ErrNetwork, Code: CodeNetwork, Err: f.err}
			f.err = e
		}
		n := 1
		if s.fail != nil {
			n = s.fail.count + 1
		}
		s.fail = &failure{err: e, count: n, until: s.client.clock().Now().Add(BackoffWindow(n, e))}
		if now := s.client.clock().Now(); seen != nil && !s.cur.Load().valid(now) && (&held{tok: seen}).valid(now) {
			// A fresh holder (a new process, a new isolate) found another
			// holder's token in the Cache, stale but valid, and could not
			// renew it: that token serves until it expires, as a held one
			// would, with the backoff above.
			s.cur.Store(s.hold(seen))
			f.tok, f.err = seen, nil
		}
	}
	s.call = nil
	s.mu.Unlock()
	close(f.done)
}

// obtain gets the next token: shared cache, then refresh, then full grant,
// and publishes it to the shared cache. A Coordinator runs it under its
// lock, so that it looks in the cache again after another holder renewed.
// With a [FailureCache], a failure is published too, still under the
// lock, with the backoff window run will set, so that the holder that
// takes the lock next backs off instead of asking again.
func (s *Source) obtain(ctx context.Context) (*Token, error) {
	tok, err := s.obtainOnce(ctx)
	fc, ok := s.cache.(FailureCache)
	if err == nil || !ok || ctx.Err() != nil {
		return tok, err
	}
	if e, isErr := err.(*Error); isErr && !e.Repeated {
		s.mu.Lock()
		n := 1
		if s.fail != nil {
			n = s.fail.count + 1
		}
		s.mu.Unlock()
		fc.PutFailure(ctx, s.key, Failure{Code: e.Code, Status: e.Status, Until: s.client.clock().Now().Add(BackoffWindow(n, e))})
	}
	return tok, err
}

func (s *Source) obtainOnce(ctx context.Context) (*Token, error) {
	clock := s.client.clock()
	var stale *Token
	if h := s.cur.Load(); h != nil {
		stale = h.tok
	}
	if s.cache != nil {
		// A failing cache is only a slower path, never an error.
		s.mu.Lock()
		dropped := s.dropped
		s.mu.Unlock()
		if t, err := s.cache.Get(ctx, s.key); err == nil && t != nil && (dropped == "" || t.AccessToken != dropped) {
			if s.fresh(t, clock.Now()) {
				return t, nil
			}
			s.seen.Store(t)
			if stale == nil || stale.RefreshToken == "" {
				stale = t
			}
		}
		if fc, ok := s.cache.(FailureCache); ok {
			// Another holder failed and backs off: so does this one.
			if f, err := fc.GetFailure(ctx, s.key); err == nil {
				if e := repeatFailure(f, clock.Now()); e != nil {
					return nil, e
				}
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
		// Only a refused refresh token (invalid_grant: expired, revoked,
		// rotated) falls back to the full grant; a provider that is down
		// would fail that too, so it is not asked twice.
		if e := (*Error)(nil); err != nil && !(errors.As(err, &e) && e.Kind == ErrRejected && !e.Temporary()) {
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
