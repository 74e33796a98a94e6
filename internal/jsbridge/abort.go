//go:build js && wasm

package jsbridge

import (
	"context"
	"syscall/js"
)

// Context returns a context canceled when the JS AbortSignal signal
// aborts (never, when signal is undefined or null), and a function that
// cancels it and releases the listener; call it once the work is done.
func Context(signal js.Value) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if signal.Type() != js.TypeObject {
		return ctx, cancel
	}
	if signal.Get("aborted").Truthy() {
		cancel()
		return ctx, cancel
	}
	onAbort := js.FuncOf(func(js.Value, []js.Value) any {
		cancel()
		return nil
	})
	signal.Call("addEventListener", "abort", onAbort)
	return ctx, func() {
		cancel()
		signal.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
	}
}

// Signal returns a JS AbortSignal that aborts when ctx ends, and a
// function that releases the hook (true if it did so before ctx ended).
func Signal(ctx context.Context) (js.Value, func() bool) {
	ac := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { quietly(func() { ac.Call("abort") }) })
	return ac.Get("signal"), stop
}
