//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
)

// newHoldCoordinator returns a Coordinator that brackets each token
// renewal with the entry module's hold and release (worker/entry), or nil
// when the entry module offers none (syumai's per-request worker.mjs,
// where nothing outlives the request anyway).
//
// A renewal may run in the background, started by a request that then
// answers with the still valid token and ends. workerd cancels what is
// left of a request once it has answered, unless ctx.waitUntil holds it:
// the hold makes every request's waitUntil last until no renewal is
// running, covering its retries, sleeps, Cache API and KV calls, not only
// its fetches.
func newHoldCoordinator() tokenhelper.Coordinator {
	b := js.Global().Get("context").Get("binding")
	hold, release := b.Get("hold"), b.Get("release")
	if hold.Type() != js.TypeFunction || release.Type() != js.TypeFunction {
		return nil
	}
	return holdCoordinator{hold, release}
}

type holdCoordinator struct{ hold, release js.Value }

// Renew implements tokenhelper.Coordinator: one isolate's renewals are
// already one at a time (the Source's single flight), so it only holds.
func (c holdCoordinator) Renew(ctx context.Context, _ string, renew func(context.Context) (*tokenhelper.Token, error)) (*tokenhelper.Token, error) {
	id := c.hold.Invoke()
	defer c.release.Invoke(id)
	return renew(ctx)
}
