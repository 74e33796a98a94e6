//go:build js && wasm

// Command worker is the tokenhelper Cloudflare Worker: it serves
// worker.Handler with github.com/syumai/workers, reaching the provider with
// the Workers fetch (internal/jsbridge), sharing tokens through KV when a
// TOKEN_KV binding exists and the Cache API otherwise, and rate-limiting
// with the RATE_LIMITER binding when one exists.
//
// worker/entry/worker.mjs starts this program once per isolate, inside the
// isolate's first request, and serves every later request with it (see
// instance.go); with GO_INSTANCE=per-request, or under syumai's own
// generated worker.mjs, it serves one request and exits.
//
// Build it with ./build.sh build (see build_worker); the bundle is
// worker/build/{worker.mjs,forward.mjs,calls.mjs,runtime.mjs,wasm_exec.js,app.wasm}.
package main

import (
	"net/http"

	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

func main() {
	if instanceMode() == "object" {
		// The TOKEN_HOLDER Durable Object's own instance (worker/entry):
		// the holder of the provider token, over the object's storage.
		serve(recoverer{&worker.Holder{
			Getenv:      cloudflare.Getenv,
			Transport:   holderTransport(jsbridge.Fetch{}),
			Store:       newObjectStore(),
			Coordinator: newHoldCoordinator(),
		}})
		return
	}
	// Runs inside the first request of the instance: the bindings are
	// known here. Nothing per request may be kept in a global: the
	// Handler keeps only what every request shares (the settings, the
	// token Source, the caller JWKS).
	h := &worker.Handler{
		Getenv:    cloudflare.Getenv,
		Transport: jsbridge.Fetch{},
		Store:     newStore(),
		Limiter:   newLimiter(),
		// Holds every request open while a renewal runs (nil per request).
		Coordinator: newHoldCoordinator(),
		// Our entry module streams /api/ bodies by Go's plans; syumai's
		// per-request path cannot, and Go forwards there.
		PlanAPI: instanceMode() == "long-lived",
	}
	if c := newHolderCoordinator(); c != nil {
		// With the TOKEN_HOLDER binding, the object renews; the isolate
		// asks it (held open as any renewal), and keeps its copy until
		// half the object's margin.
		if h.Coordinator != nil {
			h.Coordinator = composed{outer: h.Coordinator, inner: c}
		} else {
			h.Coordinator = c
		}
		h.RefreshMargin = worker.IsolateMargin
	}
	var root http.Handler = &worker.Router{Handler: h} // ROUTES=…: several providers
	if withTestHooks != nil {
		root = withTestHooks(root)
	}
	serve(recoverer{root})
}

// withTestHooks is set only in a build with -tags testhooks (testhooks.go),
// the bundle of the end-to-end tests; the deployed worker has no test
// endpoint at all.
var withTestHooks func(http.Handler) http.Handler

// holderTransport is the object's way to the provider: t itself, but in a
// build with -tags testhooks, which may wrap it (testhooks.go).
var holderTransport = func(t tokenhelper.Transport) tokenhelper.Transport { return t }

// recoverer turns a panic in a request into a 500 for that request only;
// the instance and the other requests on it carry on. A panic in another
// goroutine cannot be recovered: it ends the program, and the entry module
// answers 500 to the requests in flight and starts a fresh instance.
type recoverer struct{ h http.Handler }

func (rc recoverer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if recover() != nil {
			respond.Error(w, http.StatusInternalServerError, "server_error", "the worker failed")
		}
	}()
	rc.h.ServeHTTP(w, r)
}
