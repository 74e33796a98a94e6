//go:build js && wasm

package main

import (
	"math"
	"unsafe"

	"github.com/tokenhelper/tokenhelper"
)

// The direct calls: functions JS calls as plain WebAssembly exports
// (//go:wasmexport), one wasm call each instead of the js.FuncOf path's
// boundary crossings and scheduler pass (about 15 µs a call in Chromium,
// which dominated decodeJWT for short tokens). Strings travel through
// ioBuf: JS writes UTF-8 there, Go writes its answer back.

// ioBuf is the buffer of the direct calls. 64 KiB holds any JWT a page
// meets; a larger one goes the js.FuncOf way.
var ioBuf [64 << 10]byte

// tooLarge is the answer of a direct call that does not fit ioBuf.
const tooLarge = math.MinInt32

// directIO returns where ioBuf is in the wasm memory.
//
//go:wasmexport tokenhelper_io
func directIO() unsafe.Pointer { return unsafe.Pointer(&ioBuf) }

// directDecode decodes the JWT of n bytes in ioBuf (its header when header
// is set) and writes into ioBuf the JSON text, returning its length, or a
// jwt-decode compatible error message, returning minus its length.
//
//go:wasmexport tokenhelper_decode
func directDecode(n int32, header bool) int32 {
	if n < 0 || int(n) > len(ioBuf) {
		return tooLarge
	}
	part := 1
	if header {
		part = 0
	}
	out, err := tokenhelper.DecodeSegmentJSON(string(ioBuf[:n]), part)
	sign := int32(1)
	if err != nil {
		out, sign = []byte(err.Error()), -1
	}
	if len(out) > len(ioBuf) {
		return tooLarge
	}
	return sign * int32(copy(ioBuf[:], out))
}
