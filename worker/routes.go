package worker

import (
	"net/http"
	"strings"
	"sync"

	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// VarRoutes names the routes of a worker serving several providers.
const VarRoutes = "ROUTES"

// Router serves several providers from one worker. ROUTES=ripple,wave
// names the routes; each route's settings are the usual names with its
// prefix (RIPPLE_TOKEN_PROVIDER, RIPPLE_CLIENT_SECRET, …), a prefixed
// setting overriding the shared unprefixed one (ALLOWED_ORIGINS or
// SIGNING_KEY given once serve every route). Route ripple serves
// /ripple/token, /ripple/api/* and /ripple/.well-known/jwks.json with a
// Handler of its own: its own Source (cache key, single flight), and
// minted tokens whose issuer names the route, refused by every other
// route's /api/. GET /healthz answers 200 only when every route is
// configured; GET /routes lists the route names and modes to allowed
// origins. Without ROUTES the Router is its Handler, unchanged.
type Router struct {
	// Handler serves a worker without ROUTES, and is the model of each
	// route's Handler (Getenv, Transport, Store, Coordinator, Limiter,
	// Clock, Timeout and Retry are shared).
	Handler *Handler

	once   sync.Once
	names  []string
	routes map[string]*Handler
	err    *ConfigError // ROUTES itself is invalid
}

// load reads ROUTES, inside the first request (where the vars are known).
func (rt *Router) load() {
	list := strings.TrimSpace(rt.Handler.Getenv(VarRoutes))
	if list == "" {
		return
	}
	rt.routes = map[string]*Handler{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !validRoute(name) || rt.routes[name] != nil {
			rt.err = &ConfigError{VarRoutes, "must be a comma list of distinct route names: a lower-case letter, then up to 31 lower-case letters, digits or dashes; not api, token, routes, status or healthz"}
			rt.Handler.logMisconfigured(rt.err)
			return
		}
		h := rt.Handler
		rt.routes[name] = &Handler{
			Getenv: h.Getenv, Transport: h.Transport, Store: h.Store, Coordinator: h.Coordinator,
			Limiter: h.Limiter, Clock: h.Clock, Timeout: h.Timeout, Retry: h.Retry, RefreshMargin: h.RefreshMargin, PlanAPI: h.PlanAPI, Log: h.Log, quiet: h.quiet,
			Prefix: strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_", Base: "/" + name,
		}
		rt.names = append(rt.names, name)
	}
}

// validRoute accepts [a-z][a-z0-9-]{0,31} but the worker's own paths.
func validRoute(name string) bool {
	switch name {
	case "", "api", "token", "routes", "status", "healthz":
		return false
	}
	if len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range name {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// ServeHTTP dispatches /<route>/… to the route's Handler with the route
// cut from the path.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.once.Do(rt.load)
	if rt.routes == nil && rt.err == nil {
		rt.Handler.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if rt.err != nil {
		writeMisconfigured(w, rt.err)
		return
	}
	switch p := r.URL.Path; p {
	case "/healthz":
		for _, name := range rt.names {
			if _, err := rt.routes[name].loadSettings(); err != nil {
				writeMisconfigured(w, err)
				return
			}
		}
		respond.Health(w)
		return
	case "/routes":
		rt.serveRoutes(w, r)
		return
	case statusPath:
		rt.serveStatus(w, r)
		return
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	h := rt.routes[name]
	if h == nil {
		w.Header().Set("Vary", "Origin")
		rt.allow(w, r)
		respond.Error(w, http.StatusNotFound, "not_found", "no such route; GET /routes lists them")
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rest
	r2.URL.RawPath = ""
	if raw := r.URL.EscapedPath(); strings.HasPrefix(raw, "/"+name+"/") {
		r2.URL.RawPath = strings.TrimPrefix(raw, "/"+name)
	}
	h.ServeHTTP(w, r2)
}

// allow sets the CORS headers when some route allows the request's
// origin, and reports whether one does.
func (rt *Router) allow(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	for _, name := range rt.names {
		if s, _ := rt.routes[name].loadSettings(); origin != "" && s != nil && s.Origins[origin] {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			return true
		}
	}
	return false
}

// serveRoutes lists the routes and their modes, nothing else, to origins
// some route allows.
func (rt *Router) serveRoutes(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Origin")
	if !rt.allow(w, r) {
		respond.Error(w, http.StatusForbidden, "origin_not_allowed", "this origin may not list this worker's routes")
		return
	}
	type route struct {
		Name string `json:"name"`
		Mode string `json:"mode"`
	}
	out := make([]route, 0, len(rt.names))
	for _, name := range rt.names {
		mode := "pass"
		if s, err := rt.routes[name].loadSettings(); err != nil {
			mode = "misconfigured"
		} else if s.Mint != nil {
			mode = "mint"
		}
		out = append(out, route{name, mode})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"routes": out})
}

// CheckSettings reads the settings through getenv as a worker would,
// every route's with ROUTES, and returns the first error, naming the
// variable (never its value): for tools that check a .dev.vars.
func CheckSettings(getenv func(string) string) error {
	rt := &Router{Handler: &Handler{Getenv: getenv, quiet: true}}
	rt.once.Do(rt.load)
	if rt.err != nil {
		return rt.err
	}
	if rt.routes == nil {
		_, err := rt.Handler.loadSettings()
		return err
	}
	for _, name := range rt.names {
		if _, err := rt.routes[name].loadSettings(); err != nil {
			return err
		}
	}
	return nil
}
