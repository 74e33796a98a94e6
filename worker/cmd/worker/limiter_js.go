//go:build js && wasm

package main

import (
	"context"
	"syscall/js"
	"time"

	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker"
)

// newLimiter returns the RATE_LIMITER binding (Cloudflare's rate limiting
// API, configured in wrangler.jsonc), or nil: an in-memory limiter would
// count one isolate's requests only (one Go instance per isolate), and
// Cloudflare runs many isolates.
func newLimiter() worker.Limiter {
	b := cloudflare.GetBinding("RATE_LIMITER")
	if b.Type() != js.TypeObject {
		return nil
	}
	return bindingLimiter{b}
}

// bindingLimiter asks the rate limiting binding. The binding does not say
// when the window ends, so a refusal says 0 and the Handler asks the
// client to wait RATE_LIMIT_PERIOD (worker.Settings.RateLimitPeriod).
type bindingLimiter struct{ b js.Value }

func (l bindingLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	arg := js.Global().Get("Object").New()
	arg.Set("key", key)
	v, err := jsbridge.Await(l.b.Call("limit", arg))
	if err != nil {
		return true, 0, err // fail open: the limiter is abuse protection, not access control
	}
	if v.Get("success").Bool() {
		return true, 0, nil
	}
	return false, 0, nil
}
