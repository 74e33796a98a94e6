//go:build js && wasm

// Command pbkdf2cost is the Go side of TestWorkerdPBKDF2Cost: it exposes
// derive(iterations, i) to its entry module, which calls it once per
// request, so that the cost of fingerprint.Slow in workerd is the
// difference of request times (inside workerd the clock stands still
// while code runs: it can only be measured from outside).
package main

import (
	"strconv"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/fingerprint"
)

func main() {
	js.Global().Set("derive", js.FuncOf(func(_ js.Value, args []js.Value) any {
		n, i := args[0].Int(), args[1].Int()
		if n == 0 {
			return ""
		}
		cfg := tokenhelper.Config{Provider: "aluma", ClientID: "demo-client", ClientSecret: "secret-" + strconv.Itoa(i)}
		return fingerprint.Slow(cfg, n)
	}))
	select {}
}
