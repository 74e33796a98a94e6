//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"

	"github.com/tokenhelper/tokenhelper"
)

const benchToken = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.c2lnbmF0dXJl"

// BenchmarkDecodeSegment is the core's share of decodeJWT.
func BenchmarkDecodeSegment(b *testing.B) {
	for b.Loop() {
		tokenhelper.DecodeSegmentJSON(benchToken, 1)
	}
}

// BenchmarkDecodeJWT adds the conversion to JS values (not the JS to Go
// call, measured in Chromium by ./build.sh bench).
func BenchmarkDecodeJWT(b *testing.B) {
	tok := js.ValueOf(benchToken)
	for b.Loop() {
		decodeJWT(tok, false)
	}
}
