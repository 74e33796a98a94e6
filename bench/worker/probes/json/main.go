//go:build js && wasm

// Command json adds encoding/json to the jwt probe.
package main

import (
	"encoding/json"
	"syscall/js"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	js.Global().Set("probe", js.FuncOf(func(_ js.Value, a []js.Value) any {
		t, _, err := jwt.NewParser().ParseUnverified(a[0].String(), jwt.MapClaims{})
		if err != nil {
			return err.Error()
		}
		b, _ := json.Marshal(t.Claims)
		return string(b)
	}))
	select {}
}
