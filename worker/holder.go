package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// The internal protocol between an isolate and the TOKEN_HOLDER Durable
// Object (see [Holder] and [HolderCoordinator]): the isolate POSTs to
// HolderURL with the route's cache key in HolderKeyHeader (and, when it
// renews because an API refused the token the object gave it, that
// token's [TokenID] in HolderRefusedHeader) and gets
//
//	200 {access_token, token_type, scope?, expiry, obtained}
//	424 {kind, code, status, description?, retry_after_ms, repeated}   the provider failed
//
// Anything else (another status, a body that does not decode, a stub
// fetch that throws) is a failure of the object itself.
const (
	// HolderURL is the URL of the holder's token endpoint. The host is
	// never resolved: a Durable Object stub's fetch goes to the object.
	HolderURL = "https://token-holder.invalid/token"
	// HolderKeyHeader carries the cache key ([tokenhelper.Source.Key]) of
	// the route asking; it names the object, which refuses another key.
	HolderKeyHeader = "Tokenhelper-Key"
	// HolderRefusedHeader names, by its TokenID, the token an API refused
	// (tokenhelper.RefusedToken of the isolate's renewal): the object
	// drops it by its own Source's rules, only while it is still its
	// current token and at most once per tokenhelper.InvalidateFloor,
	// however many isolates and 401s report it.
	HolderRefusedHeader = "Tokenhelper-Refused"
)

// TokenID names a token without revealing it: the first 128 bits of the
// SHA-256 of the access token, in hex. Tokens are long random or signed
// strings, so the id neither gives the token away nor collides.
func TokenID(tok *tokenhelper.Token) string {
	sum := sha256.Sum256([]byte(tok.AccessToken))
	return hex.EncodeToString(sum[:16])
}

// holderToken is the 200 answer of the holder: the access token and its
// expiry only. The refresh token and the id token never leave the object.
type holderToken struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Scope       string    `json:"scope,omitempty"`
	Expiry      time.Time `json:"expiry"`
	Obtained    time.Time `json:"obtained,omitzero"`
}

// holderFailure is the 424 answer of the holder: the core's error, its
// description scrubbed of the configured secrets.
type holderFailure struct {
	Kind         string `json:"kind"`
	Code         string `json:"code"`
	Status       int    `json:"status,omitempty"`
	Description  string `json:"description,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	Repeated     bool   `json:"repeated,omitempty"`
}

var kindNames = map[error]string{
	tokenhelper.ErrConfig: "config", tokenhelper.ErrNetwork: "network", tokenhelper.ErrTimeout: "timeout",
	tokenhelper.ErrBadResponse: "bad_response", tokenhelper.ErrRejected: "rejected",
}

func kindByName(name string) error {
	for k, n := range kindNames {
		if n == name {
			return k
		}
	}
	return tokenhelper.ErrBadResponse
}

// Holder serves the TOKEN_HOLDER Durable Object: the one place of a
// deployment that obtains the provider token of a route (its cache key
// names the object), for every isolate that asks. It is a plain
// http.Handler; worker/cmd/worker runs it in a Go instance of the
// object's own, with Store over the object's storage, so that an object
// evicted when idle resumes with its token and refresh token instead of
// a new grant.
//
// Its token comes from a core Source (single flight, the default refresh
// margin, backoff, refresh tokens); an asker that goes away does not
// cancel the request the others wait for. It is reachable only through
// the binding: the entry module routes no public request to it.
type Holder struct {
	// Getenv reads a setting: the Worker's vars and secrets, which the
	// object shares.
	Getenv func(string) string
	// Transport reaches the provider.
	Transport tokenhelper.Transport
	// Store keeps the token, refresh token included, across evictions;
	// nil keeps it in memory only.
	Store Store
	// Coordinator, when set, brackets every renewal (the object's hold).
	Coordinator tokenhelper.Coordinator
	// Clock defaults to tokenhelper.SystemClock.
	Clock tokenhelper.Clock
	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Retry is the core's retry policy; the zero value is its default.
	Retry tokenhelper.RetryPolicy
	// Log receives the object's JSON lines (its renewals, see [Event]);
	// nil means [DefaultLog].
	Log func(level string, line []byte)

	mu     sync.Mutex
	h      *Handler   // the route found for this object's key
	routes []*Handler // every route's, the unprefixed one first
}

// handler is the Handler whose provider token has cache key key: the
// worker's one route, or with ROUTES the route whose settings give that
// key (an object is named by its key, so it serves one route). When none
// does, it is the unprefixed one, and ServeHTTP answers the mismatch.
// Only a route whose configuration gives the key's first part (cheap)
// has its credentials' fingerprint computed (slow), once.
func (o *Holder) handler(key string) *Handler {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.h != nil {
		return o.h
	}
	if o.routes == nil {
		prefixes, bases := []string{""}, []string{""}
		rt := &Router{Handler: &Handler{Getenv: o.Getenv, Log: o.Log, quiet: true}}
		rt.once.Do(rt.load)
		for _, name := range rt.names {
			prefixes = append(prefixes, rt.routes[name].Prefix)
			bases = append(bases, rt.routes[name].Base)
		}
		for i, p := range prefixes {
			h := &Handler{Getenv: o.Getenv, Transport: o.Transport, Coordinator: o.Coordinator,
				Clock: o.Clock, Timeout: o.Timeout, Retry: o.Retry, Prefix: p, Base: bases[i], Log: o.Log, quiet: true}
			if o.Store != nil {
				h.cache = &HolderCache{Store: o.Store, Clock: o.Clock}
			}
			o.routes = append(o.routes, h)
		}
	}
	for _, h := range o.routes {
		s, err := h.loadSettings()
		if err != nil || !strings.HasPrefix(key, tokenhelper.CacheKey(s.Token)) {
			continue
		}
		if src, err := h.source(s); err == nil && src.Key() == key {
			o.h = h
			return h
		}
	}
	return o.routes[0]
}

// ServeHTTP answers POST /token for the key in HolderKeyHeader.
func (o *Holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != "/token" || r.Method != http.MethodPost {
		respond.Error(w, http.StatusNotFound, "not_found", "the token holder serves POST /token only")
		return
	}
	h := o.handler(r.Header.Get(HolderKeyHeader))
	s, err := h.loadSettings()
	if err != nil {
		writeMisconfigured(w, err)
		return
	}
	src, err := h.source(s)
	if err != nil {
		writeMisconfigured(w, fromCoreError(err))
		return
	}
	if key := r.Header.Get(HolderKeyHeader); key != src.Key() {
		// Another configuration (a version of the worker with other
		// settings): the asker renews on its own.
		respond.Error(w, http.StatusConflict, "key_mismatch", "this token holder serves another configuration")
		return
	}
	type result struct {
		tok *tokenhelper.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Not the asker's context: one asker leaving must not cancel the
		// request that the others (and the next asker) wait for.
		ctx := context.WithoutCancel(r.Context())
		tok, err := src.Token(ctx)
		if refused := r.Header.Get(HolderRefusedHeader); err == nil && refused != "" && TokenID(tok) == refused {
			// An API refused this object's current token: drop it (the
			// Source ignores it within its floor) and hand out the next.
			src.Invalidate(ctx, tok)
			tok, err = src.Token(ctx)
		}
		done <- result{tok, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-r.Context().Done():
		return
	}
	if res.err != nil {
		var e *tokenhelper.Error
		if !errors.As(res.err, &e) || e.Kind == tokenhelper.ErrConfig {
			writeTokenError(w, res.err, s.Token)
			return
		}
		f := holderFailure{Kind: kindNames[e.Kind], Code: e.Code, Status: e.Status,
			RetryAfterMS: e.RetryAfter.Milliseconds(), Repeated: e.Repeated}
		if e.Description != "" {
			f.Description = scrubber(s.Token)(e.Description)
		}
		respond.JSON(w, http.StatusFailedDependency, f)
		return
	}
	t := res.tok
	respond.JSON(w, http.StatusOK, holderToken{AccessToken: t.AccessToken, TokenType: t.TokenType,
		Scope: t.Scope, Expiry: t.Expiry, Obtained: t.Obtained})
}

// HolderCache is the Durable Object's tokenhelper.Cache over its Store:
// unlike [TokenCache] it keeps the refresh token, and keeps an entry past
// the refresh margin and past expiry (a Source renews an expired token
// with its refresh token), for HolderKeep.
type HolderCache struct {
	Store Store
	// Clock tells how long a backoff has left (default the system's).
	Clock tokenhelper.Clock
}

// HolderKeep is how long the holder keeps its last token: refresh tokens
// outlive access tokens, by a lifetime the provider does not tell.
const HolderKeep = 400 * 24 * time.Hour

// Get implements tokenhelper.Cache.
func (c *HolderCache) Get(ctx context.Context, key string) (*tokenhelper.Token, error) {
	return (&TokenCache{Store: c.Store}).Get(ctx, key)
}

// Put implements tokenhelper.Cache.
func (c *HolderCache) Put(ctx context.Context, key string, tok *tokenhelper.Token, _ time.Time) error {
	t := *tok
	t.IDToken = ""
	b, err := json.Marshal(&t)
	if err != nil {
		return err
	}
	return c.Store.Put(ctx, key, b, HolderKeep)
}

// Delete implements tokenhelper.Cache.
func (c *HolderCache) Delete(ctx context.Context, key string) error {
	return c.Store.Delete(ctx, key)
}

// failureKey is where the holder keeps key's backoff, beside its token.
func failureKey(key string) string { return key + "#failure" }

// PutFailure implements tokenhelper.FailureCache: the object's backoff
// is kept in its storage until the window ends, so that an object evicted
// during it (workerd evicts an idle one after about 10 s) does not ask
// the provider again when the next isolate asks it.
func (c *HolderCache) PutFailure(ctx context.Context, key string, f tokenhelper.Failure) error {
	clock := c.Clock
	if clock == nil {
		clock = tokenhelper.SystemClock
	}
	ttl := f.Until.Sub(clock.Now())
	if ttl <= 0 {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return c.Store.Put(ctx, failureKey(key), b, ttl)
}

// GetFailure implements tokenhelper.FailureCache.
func (c *HolderCache) GetFailure(ctx context.Context, key string) (*tokenhelper.Failure, error) {
	b, err := c.Store.Get(ctx, failureKey(key))
	if err != nil || b == nil {
		return nil, err
	}
	var f tokenhelper.Failure
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil // not ours: no backoff
	}
	return &f, nil
}
