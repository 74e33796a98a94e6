//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper/worker"
)

// The worker's log lines (worker.Event) go to the console method of their
// level, so that Workers Logs and wrangler tail show warn and error as
// such; and the status names this command's Stores and knows the
// TOKEN_HOLDER binding. Set in init, so that main needs no change: these
// are package-level defaults the worker package reads only inside a
// request.
func init() {
	console := js.Global().Get("console")
	worker.DefaultLog = func(level string, line []byte) {
		method := "log"
		switch level {
		case worker.LevelWarn:
			method = "warn"
		case worker.LevelError:
			method = "error"
		}
		console.Call(method, string(line))
	}
	worker.StoreName = func(s worker.Store) string {
		switch s.(type) {
		case kvStore:
			return "kv"
		case cacheStore:
			return "cache_api"
		case objectStore:
			return "storage"
		}
		return "store"
	}
	worker.HolderBound = func(*worker.Handler) bool {
		return cloudflare.GetBinding("TOKEN_HOLDER").Type() == js.TypeObject
	}
}
