package demoprovider

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper/dpop"
)

// Defaults used for zero Options fields. They are public demo values, fit
// for loopback tests only.
const (
	DefaultClientID     = "demo-client"
	DefaultClientSecret = "demo-secret-do-not-use-in-production"
	DefaultUsername     = "demo-user"
	DefaultPassword     = "demo-password"
	DefaultLifetime     = 24 * time.Hour
)

// Paths of the endpoints that are not token endpoints.
const (
	JWKSPath    = "/.well-known/jwks.json"
	HealthPath  = "/healthz"
	StatsPath   = "/_demo/stats"
	ResetPath   = "/_demo/reset"
	FaultPath   = "/_demo/fault"
	corsMethods = "POST, GET, OPTIONS"
	corsHeaders = "Authorization, Content-Type"
)

// Options configures a Server. Zero fields take the defaults above.
type Options struct {
	// ClientID and ClientSecret are the one client the server knows.
	ClientID, ClientSecret string
	// Username and Password are the one user of the password grant.
	Username, Password string
	// Lifetime of the issued tokens, reported as expires_in (whole seconds,
	// at least one).
	Lifetime time.Duration
	// Audiences are accepted by the alluvial profiles in addition to their
	// own API audience.
	Audiences []string
	// DPoPNonce, when set, is the nonce every DPoP proof to the custom
	// profile must carry (RFC 9449 8): a proof without it is answered
	// use_dpop_nonce with a DPoP-Nonce header.
	DPoPNonce string
	// Now is the clock for iat and exp (default time.Now).
	Now func() time.Time
	// OnRequest, when set, is called after every token request with its log
	// entry (secrets already redacted). It must not block for long.
	OnRequest func(Received)
}

// Server is the demo token server, an http.Handler. Create it with New; it
// is safe for concurrent use.
type Server struct {
	opts    Options
	keys    *signer
	refresh refreshStore
	proofs  dpop.Checker // DPoP proofs at the custom profile (see checkDPoP)

	mu     sync.Mutex
	count  int
	log    []*Received
	faults []Fault
}

// New returns a server with a freshly generated signing key.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Audiences = append([]string(nil), opts.Audiences...)
	return &Server{opts: opts, keys: newSigner()}
}

func (s *Server) now() time.Time { return s.opts.Now() }

// expiresIn is the token lifetime in whole seconds, at least one.
func (s *Server) expiresIn() int64 {
	if n := int64(s.opts.Lifetime / time.Second); n > 0 {
		return n
	}
	return 1
}

// ServeHTTP routes a request to the token, key, health or control
// endpoints. Every answer carries the CORS headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")

	if p := profileForPath(r.URL.Path); p != nil {
		if r.Method == http.MethodOptions {
			preflight(w)
			return
		}
		s.serveToken(w, r, p)
		return
	}
	switch r.URL.Path {
	case "/":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			s.serveIndex(w, r)
		}
	case JWKSPath:
		if allow(w, r, http.MethodGet, http.MethodHead) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			writeBody(w, http.StatusOK, "application/json", s.keys.jwks)
		}
	case HealthPath:
		if allow(w, r, http.MethodGet, http.MethodHead) {
			writeBody(w, http.StatusOK, "text/plain; charset=utf-8", []byte("ok"))
		}
	case StatsPath:
		if allow(w, r, http.MethodGet, http.MethodHead) {
			s.serveStats(w)
		}
	case ResetPath:
		if allow(w, r, http.MethodPost) {
			s.Reset()
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		}
	case FaultPath:
		if allow(w, r, http.MethodPost) {
			s.serveFaultControl(w, r)
		}
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "no such endpoint"})
	}
}

// allow answers a preflight or a method outside methods, reporting whether
// the caller should go on to serve the request.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if r.Method == http.MethodOptions {
		preflight(w)
		return false
	}
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	methodNotAllowed(w, methods...)
	return false
}

func methodNotAllowed(w http.ResponseWriter, methods ...string) {
	w.Header().Set("Allow", strings.Join(append(methods, http.MethodOptions), ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{
		Error:       "invalid_request",
		Description: "method not allowed; use " + strings.Join(methods, " or "),
	})
}

// preflight answers a CORS preflight.
func preflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// serveIndex lists, at the root, the token URL of every profile and the
// key set, as absolute URLs on the host the request named: where a
// command-line user of `./build.sh dev` finds each profile's path.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	base := "http://" + r.Host
	urls := make(map[string]string, len(profiles))
	for _, p := range profiles {
		urls[p.id] = base + p.path
	}
	writeJSON(w, http.StatusOK, struct {
		TokenURLs map[string]string `json:"token_urls"`
		JWKS      string            `json:"jwks_url"`
	}{urls, base + JWKSPath})
}
