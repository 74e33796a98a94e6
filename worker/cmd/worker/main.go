//go:build js && wasm

// Command worker is the tokenhelper Cloudflare Worker: it serves
// worker.Handler with github.com/syumai/workers, reaching the provider with
// the Workers fetch (internal/jsbridge), sharing tokens through KV when a
// TOKEN_KV binding exists and the Cache API otherwise, and rate-limiting
// with the RATE_LIMITER binding when one exists.
//
// Build it with ./build.sh build (see build_worker); the bundle is
// worker/build/{worker.mjs,runtime.mjs,wasm_exec.js,app.wasm}.
package main

import (
	"net/http"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker"
)

func main() {
	// syumai/workers starts this program once per request, inside the
	// request: the bindings are known here, and nothing outlives it.
	h := &worker.Handler{
		Getenv:    cloudflare.Getenv,
		Transport: jsbridge.Fetch{},
		Store:     newStore(),
		Limiter:   newLimiter(),
	}
	workers.Serve(recoverer{h})
}

// recoverer turns a panic into a 500: in syumai/workers a panic would
// kill the Go instance and leave workerd to answer with a bare error.
type recoverer struct{ h http.Handler }

func (rc recoverer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if recover() != nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":"server_error","error_description":"the worker failed"}` + "\n"))
		}
	}()
	rc.h.ServeHTTP(w, r)
}
