//go:build js && wasm

package main

import (
	"strings"
	"testing"
)

// directDecode answers through ioBuf: the JSON text and its length, a
// jwt-decode message and minus its length, or tooLarge.
func TestDirectDecode(t *testing.T) {
	call := func(tok string, header bool) (int32, string) {
		n := copy(ioBuf[:], tok)
		r := directDecode(int32(n), header)
		if r == tooLarge {
			return r, ""
		}
		l := r
		if l < 0 {
			l = -l
		}
		return r, string(ioBuf[:l])
	}
	tok := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjoxMH0."
	if n, s := call(tok, false); n <= 0 || s != `{"sub":"x","exp":10}` {
		t.Errorf("payload: %d %q", n, s)
	}
	if n, s := call(tok, true); n <= 0 || s != `{"alg":"none"}` {
		t.Errorf("header: %d %q", n, s)
	}
	if n, s := call("abc", false); n >= 0 || !strings.HasPrefix(s, "Invalid token specified: missing part #2") {
		t.Errorf("one part: %d %q, want a negative length and jwt-decode's message", n, s)
	}
	if r := directDecode(int32(len(ioBuf)+1), false); r != tooLarge {
		t.Errorf("n beyond the buffer: got %d, want tooLarge", r)
	}
}
