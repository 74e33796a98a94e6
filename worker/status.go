package worker

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// VarStatusToken is the secret an operator sends (Authorization: Bearer)
// to read GET /status. Without it the status is off (404).
//
// Who may read the status: not every allowed origin (an Origin header is
// no credential: any program sends any Origin, and every visitor of an
// allowed page would read it), nor whoever passes the caller gate (that
// authenticates the users of the tokens, not the operators, and a route
// without a gate would show its state to anyone). The status holds no
// token or secret, but it tells when the provider refuses the client or
// is down, when the route backs off, how many forged tokens it refused:
// what an attacker times an attack by. So it takes a secret of its own,
// set with `wrangler secret put STATUS_TOKEN`. An operator's tool reads
// it (curl, ./build.sh dev), and so does the page in worker mode, from an
// origin the route allows (see statusCORS): the CORS headers let that
// page read the answer, the content still needs STATUS_TOKEN, which the
// operator types in and the page never keeps.
const VarStatusToken = "STATUS_TOKEN"

// statusPath is the route status's path (a route's, or the Router's for
// every route).
const statusPath = "/status"

// StoreName names a Store in the log lines and the status ("kv",
// "cache_api", "memory"). The Worker's command replaces it to name its own
// Stores.
var StoreName = func(s Store) string {
	if _, ok := s.(*MemoryStore); ok {
		return "memory"
	}
	return "store"
}

// HolderBound reports whether h's renewals ask the TOKEN_HOLDER object.
// The Worker's command replaces it (its Coordinator is composed with the
// hold, and the binding tells).
var HolderBound = func(h *Handler) bool {
	_, ok := h.Coordinator.(*HolderCoordinator)
	return ok
}

// RouteStatus is one route's state as its isolate sees it. It holds no
// token, secret or setting's value.
type RouteStatus struct {
	Route string `json:"route"`
	// Mode is "pass", "mint" or "misconfigured" (then Var names the bad
	// setting).
	Mode string `json:"mode"`
	Var  string `json:"var,omitempty"`
	// TokenHeld: this isolate holds a provider token still valid, for
	// ExpiresInS seconds.
	TokenHeld  bool    `json:"token_held"`
	ExpiresInS float64 `json:"expires_in_s,omitempty"`
	// Sources are where this route's tokens come from, in the order they
	// are tried: "object" (TOKEN_HOLDER), the shared store ("kv",
	// "cache_api"), "provider".
	Sources []string `json:"sources"`
	// LastRenewal is this isolate's last renewal, if any.
	LastRenewal *LastRenewal `json:"last_renewal,omitempty"`
	// BackoffUntil is the end of the backoff after a failed renewal.
	BackoffUntil time.Time `json:"backoff_until,omitzero"`
	// Refusals counts this isolate's refusals by reason since it started.
	Refusals map[string]int `json:"refusals"`
}

// LastRenewal is what a route's last renewal did.
type LastRenewal struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	From   string    `json:"from"`
	Grant  string    `json:"grant,omitempty"`
	Status int       `json:"status,omitempty"`
	Code   string    `json:"code,omitempty"`
}

// status is h's RouteStatus now.
func (h *Handler) status() RouteStatus {
	st := RouteStatus{Route: h.routeName(), Mode: "pass", Refusals: h.refusalTotals()}
	s, err := h.loadSettings()
	if err != nil {
		st.Mode = "misconfigured"
		var ce *ConfigError
		if errors.As(err, &ce) {
			st.Var = ce.Var
		}
	} else if s.Mint != nil {
		st.Mode = "mint"
	}
	if HolderBound(h) {
		st.Sources = append(st.Sources, "object")
	}
	if h.Store != nil {
		st.Sources = append(st.Sources, StoreName(h.Store))
	}
	st.Sources = append(st.Sources, "provider")
	h.mu.Lock()
	obs := h.obs
	h.mu.Unlock()
	if obs == nil {
		return st
	}
	rs := obs.state(h.now())
	st.TokenHeld, st.ExpiresInS = rs.held, seconds(rs.expiresIn)
	if !rs.backoffUntil.IsZero() {
		st.BackoffUntil = rs.backoffUntil.UTC()
	}
	if !rs.lastAt.IsZero() {
		st.LastRenewal = &LastRenewal{At: rs.lastAt.UTC(), OK: rs.last.code == "", From: rs.last.from,
			Grant: safeName(rs.last.grant), Status: rs.last.status, Code: safeName(rs.last.code)}
	}
	return st
}

// statusAllowed checks the request's bearer token against the
// STATUS_TOKEN that getenv reads, in constant time; it writes the refusal
// and returns false when the request may not read the status.
func statusAllowed(w http.ResponseWriter, r *http.Request, want string, refuse func(string)) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		respond.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return false
	}
	if want == "" {
		respond.Error(w, http.StatusNotFound, "not_found", "the route status is off; set the STATUS_TOKEN secret to turn it on")
		return false
	}
	scheme, got, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		refuse(RefuseStatus)
		w.Header().Set("WWW-Authenticate", `Bearer realm="status"`)
		respond.Error(w, http.StatusUnauthorized, "invalid_token", "the route status needs the STATUS_TOKEN as a Bearer token")
		return false
	}
	return true
}

// statusCORS lets a page of an allowed origin (allowed: the route's
// check, which has set Access-Control-Allow-Origin) read every /status
// answer, the 401 and 404 too, and answers its preflight; it reports
// whether the request was a preflight, answered. Other origins get no
// CORS header.
func statusCORS(w http.ResponseWriter, r *http.Request, allowed bool) (answered bool) {
	w.Header().Set("Vary", "Origin")
	if !allowed || r.Method != http.MethodOptions {
		return false
	}
	preflight(w, "GET", "Authorization")
	return true
}

// serveStatus answers GET /status for this route.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	if statusCORS(w, r, h.allowOrigin(w, r)) || !statusAllowed(w, r, h.getenv(VarStatusToken), h.refuse) {
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"scope": "isolate", "routes": []RouteStatus{h.status()}})
}

// serveStatus answers GET /status for every route, with the unprefixed
// STATUS_TOKEN.
func (rt *Router) serveStatus(w http.ResponseWriter, r *http.Request) {
	if statusCORS(w, r, rt.allow(w, r)) || !statusAllowed(w, r, rt.Handler.Getenv(VarStatusToken), rt.Handler.refuse) {
		return
	}
	out := make([]RouteStatus, 0, len(rt.names))
	for _, name := range rt.names {
		out = append(out, rt.routes[name].status())
	}
	respond.JSON(w, http.StatusOK, map[string]any{"scope": "isolate", "routes": out})
}
