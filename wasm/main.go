//go:build js && wasm

// Command wasm is tokenhelper for the browser: the core package compiled
// to WebAssembly, exposed to JavaScript through the tokenhelper.mjs module
// (web/src/tokenhelper.mjs), which is the only intended caller.
//
// Started by that module's load() with the name of a global callback as
// its one argument, main hands the callback an object of functions
// (decodeJWT, buildTokenRequest, requestToken, providers and the source*
// functions behind createTokenSource), then waits until exit() is called,
// releases every js.Func and returns. Token requests go out through the
// page's fetch (jsbridge.Fetch, credentials "omit"): neither net/http nor
// crypto/tls is in this binary. The functions only convert values and call
// the core; see api.go.
package main

import (
	"os"
	"syscall/js"
)

// defaultReady is the global callback used when no name is passed.
const defaultReady = "__tokenhelperReady"

func main() {
	ready := defaultReady
	if len(os.Args) > 1 && os.Args[1] != "" {
		ready = os.Args[1]
	}
	done := make(chan struct{})
	api, release := exports(func() { close(done) })
	js.Global().Get(ready).Invoke(api)
	<-done
	release()
}

// exports returns the JS object of exported functions and a function that
// releases them all. exit is called by the exported exit().
func exports(exit func()) (js.Value, func()) {
	var funcs []js.Func
	api := js.Global().Get("Object").New()
	add := func(name string, fn func(args []js.Value) any) {
		f := js.FuncOf(func(_ js.Value, a []js.Value) any { return fn(a) })
		funcs = append(funcs, f)
		api.Set(name, f)
	}
	add("decodeJWT", func(a []js.Value) any { return decodeJWT(arg(a, 0), arg(a, 1).Truthy()) })
	add("buildTokenRequest", func(a []js.Value) any { return buildTokenRequest(arg(a, 0)) })
	add("requestToken", func(a []js.Value) any { return requestToken(arg(a, 0), arg(a, 1)) })
	add("providers", func([]js.Value) any { return providerList() })
	add("discover", func(a []js.Value) any { return discover(arg(a, 0)) })
	add("clientAssertion", func(a []js.Value) any { return clientAssertion(arg(a, 0)) })
	add("sourceNew", func(a []js.Value) any { return sources.open(arg(a, 0), arg(a, 1)) })
	add("sourceKey", func(a []js.Value) any { return sources.key(arg(a, 0).Int()) })
	add("sourceToken", func(a []js.Value) any { return sources.token(arg(a, 0).Int(), arg(a, 1)) })
	add("sourceInvalidate", func(a []js.Value) any {
		sources.invalidate(arg(a, 0).Int(), arg(a, 1))
		return nil
	})
	add("sourceClose", func(a []js.Value) any {
		sources.close(arg(a, 0).Int())
		return nil
	})
	var once bool
	add("exit", func([]js.Value) any {
		if !once {
			once = true
			exit()
		}
		return nil
	})
	return api, func() {
		for _, f := range funcs {
			f.Release()
		}
	}
}

// arg returns a[i], or undefined when the caller passed fewer arguments.
func arg(a []js.Value, i int) js.Value {
	if i < len(a) {
		return a[i]
	}
	return js.Undefined()
}
