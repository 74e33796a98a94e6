//go:build js && wasm

// Command jwt adds golang-jwt (parsing, not verifying) to jsonly.
package main

import (
	"syscall/js"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	js.Global().Set("probe", js.FuncOf(func(_ js.Value, a []js.Value) any {
		t, _, err := jwt.NewParser().ParseUnverified(a[0].String(), jwt.MapClaims{})
		if err != nil {
			return err.Error()
		}
		return t.Method.Alg()
	}))
	select {}
}
