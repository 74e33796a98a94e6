package worker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/fingerprint"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// DefaultTimeout bounds each attempt to reach the provider (and the caller
// JWKS); with the core's three attempts a dead provider costs about 3x
// this plus 0.75 s of backoff at worst.
const DefaultTimeout = 8 * time.Second

// Handler serves the worker contract. Settings are read through Getenv
// and checked in the first request (a Worker's vars are only known inside
// a request), then kept for the Handler's life: they are fixed for an
// isolate, since changing one deploys a new version. The token Source is
// built inside the first request that needs it too: in workerd the clock
// stands still outside a request.
type Handler struct {
	// Getenv reads a setting (cloudflare.Getenv in the Worker).
	Getenv func(string) string
	// Transport reaches the provider and the caller JWKS (the Workers
	// fetch in the Worker).
	Transport tokenhelper.Transport
	// Store shares tokens and the caller JWKS between requests; nil
	// caches nothing.
	Store Store
	// Coordinator, when set, brackets every renewal of the provider token
	// (the Worker's hold, so that a background renewal outlives the
	// request that started it).
	Coordinator tokenhelper.Coordinator
	// RefreshMargin, when set, replaces the core's DefaultMargin: with a
	// TOKEN_HOLDER the isolate keeps its copy until [IsolateMargin], so
	// that it asks after the object renewed, not before.
	RefreshMargin func(lifetime time.Duration) time.Duration
	// Limiter, when set, rate-limits POST /token per client IP. A refusal
	// without a wait asks the client to wait RATE_LIMIT_PERIOD.
	Limiter Limiter
	// Clock defaults to tokenhelper.SystemClock.
	Clock tokenhelper.Clock
	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Retry is the core's retry policy; the zero value is its default.
	Retry tokenhelper.RetryPolicy
	// PlanAPI makes /api/ answer a forward plan (apiproxy.Plan) that the
	// Worker's entry module performs in the request's own context,
	// streaming both bodies, instead of forwarding in Go with both held
	// in memory. The long-lived instance sets it.
	PlanAPI bool
	// Prefix, for one route of several (see [Router]), is the prefix of
	// its settings: with "RIPPLE_", CLIENT_SECRET is read from
	// RIPPLE_CLIENT_SECRET, else from the shared CLIENT_SECRET, and a bad
	// setting is named with the prefix.
	Prefix string
	// Base is the route's path ("/ripple"), which the tokens it mints name
	// in their issuer, so that a token of one route is refused by another.
	Base string
	// Log receives each JSON line the route logs (see [Event]) with its
	// level; nil means [DefaultLog]. Lines never hold a token or secret.
	Log func(level string, line []byte)

	mu        sync.Mutex
	loaded    bool      // settings and setErr hold Load's result
	settings  *Settings // see settings
	setErr    error
	src       *tokenhelper.Source // see source
	verified  verifiedCache       // minted tokens /api/ has verified
	cache     tokenhelper.Cache   // the Holder's, instead of a TokenCache over Store
	obs       *observer           // the Source's renewals, logged (see source)
	srcLogged bool                // a Source that could not be built was logged
	// quiet: settings read by a tool or by the TOKEN_HOLDER object are
	// not logged as misconfigured (the isolate's route does that).
	quiet   bool
	refused refusals // refusals, counted and logged in summary

	callerJWKS callerKeySet // the caller gate's key set, held in memory (gate.go)
}

// loadSettings returns Load's result, computed on the first call.
func (h *Handler) loadSettings() (*Settings, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.loaded {
		h.settings, h.setErr = Load(h.getenv)
		var ce *ConfigError
		if errors.As(h.setErr, &ce) {
			ce.Var = h.varName(ce.Var)
		}
		h.loaded = true
		if h.setErr != nil { // once per Handler: the settings are fixed for its life
			h.logMisconfigured(h.setErr)
		}
	}
	return h.settings, h.setErr
}

// getenv reads a setting, the route's own before the shared one.
func (h *Handler) getenv(name string) string {
	if h.Prefix != "" {
		if v := h.Getenv(h.Prefix + name); v != "" {
			return v
		}
	}
	return h.Getenv(name)
}

// varName is the variable to name for a bad setting: the route's own,
// unless only the shared one is set.
func (h *Handler) varName(name string) string {
	if h.Prefix == "" || (h.Getenv(h.Prefix+name) == "" && h.Getenv(name) != "") {
		return name
	}
	return h.Prefix + name
}

func (h *Handler) clock() tokenhelper.Clock {
	if h.Clock == nil {
		return tokenhelper.SystemClock
	}
	return h.Clock
}

func (h *Handler) now() time.Time { return h.clock().Now() }

func (h *Handler) timeout() time.Duration {
	if h.Timeout == 0 {
		return DefaultTimeout
	}
	return h.Timeout
}

// Allowed CORS request headers besides the caller JWT header.
const corsHeaders = "Content-Type, Authorization"

// ServeHTTP routes /token and /healthz; every answer is JSON and no-store.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	h.flushRefusals() // one atomic load unless a refusal count is due
	switch p := r.URL.Path; {
	case p == "/healthz":
		h.serveHealth(w, r)
	case p == "/token":
		hd.Set("Vary", "Origin")
		h.serveToken(w, r)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		hd.Set("Vary", "Origin")
		h.serveAPI(w, r)
	case p == jwksPath:
		h.serveJWKS(w, r)
	case p == statusPath:
		h.serveStatus(w, r)
	default:
		hd.Set("Vary", "Origin")
		h.allowOrigin(w, r)
		respond.Error(w, http.StatusNotFound, "not_found", "no such endpoint; POST /token")
	}
}

// allowOrigin sets the CORS headers when the request's Origin is allowed,
// and nothing else: an allowed page can then read a 404 or another refusal
// for what it is instead of meeting an opaque CORS failure. It reports
// whether the origin is allowed.
func (h *Handler) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	s, _ := h.loadSettings()
	if origin := r.Header.Get("Origin"); origin != "" && s != nil && s.Origins[origin] {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		return true
	}
	return false
}

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		respond.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	if _, err := h.loadSettings(); err != nil {
		writeMisconfigured(w, err)
		return
	}
	respond.Health(w)
}

// admit loads the settings and checks the request's Origin against
// ALLOWED_ORIGINS, setting the CORS headers for an allowed one. It writes
// the error answer itself and returns ok false when the request stops here.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (s *Settings, origin string, ok bool) {
	s, cfgErr := h.loadSettings()
	origin = r.Header.Get("Origin")
	if s.Origins == nil { // ALLOWED_ORIGINS itself is broken: no origin can be told apart
		writeMisconfigured(w, cfgErr)
		return nil, "", false
	}
	if origin == "" || !s.Origins[origin] {
		h.refuse(RefuseOrigin)
		respond.Error(w, http.StatusForbidden, "origin_not_allowed", "this origin may not get tokens from this worker")
		return nil, "", false
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
	if cfgErr != nil {
		writeMisconfigured(w, cfgErr)
		return nil, "", false
	}
	return s, origin, true
}

// preflight answers an OPTIONS request for an admitted origin.
func preflight(w http.ResponseWriter, methods, headers string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", methods)
	hd.Set("Access-Control-Allow-Headers", headers)
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) {
	s, origin, ok := h.admit(w, r)
	if !ok {
		return
	}
	hd := w.Header()
	if s.Caller != nil {
		// Lets a page send the cookie of an access proxy in front of the
		// worker (Cloudflare Access's CF_Authorization) with credentials
		// "include"; only ever for an exact allowed origin.
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
	switch r.Method {
	case http.MethodOptions:
		allow := corsHeaders
		if s.Mint != nil && s.DPoP != DPoPOff {
			allow += ", DPoP" // the proof of POST /token (mintmode.go)
		}
		if s.Caller != nil && !strings.EqualFold(s.Caller.Header, "Authorization") {
			allow += ", " + s.Caller.Header
		}
		preflight(w, "POST, OPTIONS", allow)
		return
	case http.MethodPost:
	default:
		hd.Set("Allow", "POST, OPTIONS")
		respond.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	ctx := r.Context()
	if h.Limiter != nil {
		ok, wait, err := h.Limiter.Allow(ctx, "ip:"+clientIP(r))
		if err == nil && !ok {
			if wait <= 0 {
				wait = s.RateLimitPeriod
			}
			h.refuse(RefuseRateLimited)
			hd.Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
			respond.Error(w, http.StatusTooManyRequests, "rate_limited", "too many token requests from this address; retry later")
			return
		}
	}
	var subject string
	if s.Caller != nil {
		sub, e := h.checkCaller(ctx, r, s.Caller)
		if e != nil {
			if e.status == http.StatusUnauthorized {
				h.refuse(RefuseCaller) // a JWKS that could not be had is not a refusal of the caller
				hd.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			respond.Error(w, e.status, e.code, e.desc)
			return
		}
		subject = sub
	}
	if s.Mint != nil {
		h.mintToken(w, r, s, origin, subject)
		return
	}
	h.passToken(ctx, w, s)
}

// FingerprintIterations is the PBKDF2 cost of the fingerprint of a
// route's credentials (client secret, password) that ends its cache key
// in mode pass (fingerprint.Slow, salted with the rest of the
// configuration), so that two routes of one client with different
// secrets never share a token: the key names KV and Cache API entries,
// the TOKEN_HOLDER object and its backoff. It is computed once per route
// in an isolate (and in the object), never per request in the long-lived
// instance: 3.5-4.8 ms in workerd on a loaded machine (e2e
// TestWorkerdPBKDF2Cost), under half the free plan's 10 ms a request. Each guess of an offline
// attacker who reads a key costs the same iterations; worker/README.md's
// threat model says what that does and does not buy.
const FingerprintIterations = 2000

// credentialID is the fingerprint of the route's credentials that ends
// its cache key. In mode mint the worker has a key that no store holds,
// SIGNING_KEY: an HMAC under it tests no guess of a secret without it
// (fingerprint.Keyed), and costs nothing. In mode pass there is no such
// key, and the fingerprint is slow instead.
func (h *Handler) credentialID(s *Settings) string {
	if s.Mint != nil {
		return fingerprint.Keyed([]byte(h.getenv(VarSigningKey)), s.Token)
	}
	return fingerprint.Slow(s.Token, FingerprintIterations)
}

// TokenKey returns the key of the provider tokens of the worker whose
// settings getenv reads (its one route, without ROUTES): what
// tokenhelper.Source.Key returns, the cache key followed by the
// fingerprint of the credentials. It names them in the Store and names
// their TOKEN_HOLDER object.
func TokenKey(getenv func(string) string) (string, error) {
	h := &Handler{Getenv: getenv, quiet: true}
	s, err := h.loadSettings()
	if err != nil {
		return "", err
	}
	src, err := h.source(s)
	if err != nil {
		return "", err
	}
	return src.Key(), nil
}

// source returns the provider token Source for s (the Handler's settings),
// kept for as long as the Handler lives: one Source per isolate when the
// Go instance is long-lived (single flight across its requests), one per
// request otherwise. The Store shares tokens between isolates.
func (h *Handler) source(s *Settings) (*tokenhelper.Source, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.src != nil {
		return h.src, nil
	}
	obs := &observer{inner: h.Coordinator, transport: h.Transport, log: h.logger(), now: h.now, scrub: scrubber(s.Token)}
	client := &tokenhelper.Client{Transport: obs, Clock: h.clock(), Timeout: h.timeout(), Retry: h.Retry}
	var opts []tokenhelper.SourceOption
	switch {
	case h.cache != nil:
		opts = append(opts, tokenhelper.WithCache(h.cache))
		obs.store = "storage" // the Durable Object's
	case h.Store != nil:
		opts = append(opts, tokenhelper.WithCache(&TokenCache{Store: h.Store, Now: h.now, Margin: h.RefreshMargin}))
		obs.store = StoreName(h.Store)
	}
	if h.RefreshMargin != nil {
		opts = append(opts, tokenhelper.WithRefreshMarginFunc(h.RefreshMargin))
	}
	// Every renewal passes through the observer, which logs it and
	// brackets it with h.Coordinator when there is one.
	opts = append(opts, tokenhelper.WithCoordinator(obs))
	// The route's credentials in its key: a route of the same client
	// with another secret has other tokens, another TOKEN_HOLDER object
	// and another backoff (see FingerprintIterations).
	opts = append(opts, tokenhelper.WithCredentialID(h.credentialID(s)))
	src, err := tokenhelper.NewSource(client, s.Token, opts...)
	if err != nil {
		if !h.srcLogged {
			h.srcLogged = true
			h.logMisconfigured(fromCoreError(err))
		}
		return nil, err
	}
	h.src, h.obs = src, obs
	return src, nil
}

// passToken answers with the provider's access token and its remaining
// lifetime; never the refresh_token or id_token.
func (h *Handler) passToken(ctx context.Context, w http.ResponseWriter, s *Settings) {
	src, err := h.source(s)
	if err != nil {
		writeMisconfigured(w, fromCoreError(err))
		return
	}
	tok, err := src.Token(ctx)
	if err != nil {
		writeTokenError(w, err, s.Token)
		return
	}
	expiresIn := int64(tok.Remaining(h.now()) / time.Second)
	if expiresIn < 1 {
		expiresIn = 1
	}
	respond.Token(w, tok.AccessToken, tok.Type(), expiresIn)
}

// tokenBody is the 200 answer of POST /token.
type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// clientIP is Cloudflare's CF-Connecting-IP, else the peer address.
func clientIP(r *http.Request) string {
	if ip := strings.TrimSpace(r.Header.Get("CF-Connecting-IP")); ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return "unknown"
}
