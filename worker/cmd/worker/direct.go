//go:build js && wasm

package main

import (
	"encoding/binary"
	"net/http"
	"runtime"
	"syscall/js"
	"unsafe"

	"github.com/tokenhelper/tokenhelper/worker/internal/wire"
)

// The entry module serves each request of a long-lived instance through
// two WebAssembly exports (//go:wasmexport) rather than a js.FuncOf
// callback: one direct wasm call instead of several boundary crossings,
// a scheduler pass and a finalized js.Value per argument.
//
//   - tokenhelper_buf(n) returns where ioBuf is in the wasm memory, grown
//     to hold at least n bytes; the entry module writes the request there
//     (worker/internal/wire, UTF-8), and reads the answer from it.
//   - tokenhelper_serve(n) serves the request of n bytes in ioBuf. If the
//     handler answers within the call (a held token, a refusal, a forward
//     plan, /healthz: everything that waits on no JavaScript promise and
//     no timer), the answer is in ioBuf: a 4-byte little-endian length of
//     the head (wire.EncodeHead), the head, then the body; the result is
//     the answer's length. Otherwise the result is minus an id, and the
//     answer comes later through binding.answer(id, head, body), called
//     from whatever event resumes Go once the handler has what it waited
//     for (the provider's answer, a Cache API or KV read, the
//     TOKEN_HOLDER's answer, a backoff).
//
// An export must not wait on JavaScript: if Go's scheduler ran out of work
// inside it, the runtime would pause to wait for an event and return to
// JavaScript in the middle of the call. So the handler runs on a goroutine
// of its own (runJob), and the export's goroutine only yields
// (runtime.Gosched) to it, which keeps the scheduler busy until the
// handler has answered or is blocked: a goroutine that yields goes to the
// global run queue, behind everything the handler wakes, so one yield
// lets the handler and the goroutines it talks to run until they all
// wait. A few more yields cover the scheduler's occasional look at the
// global queue first.

// ioBuf is the exports' buffer; it only grows.
var ioBuf = make([]byte, 16<<10)

// handler is the handler the exports serve; answerLater is the entry
// module's binding.answer. Both are set by serve (instance.go) before the
// program signals it is ready.
var (
	handler     http.Handler
	answerLater js.Value
)

// syncYields bounds the yields of tokenhelper_serve: past them the answer
// comes later. Giving up early costs only speed, never an answer.
const syncYields = 4

// directBuf grows ioBuf to at least n bytes and returns where it is.
//
//go:wasmexport tokenhelper_buf
func directBuf(n int32) unsafe.Pointer {
	if int(n) > len(ioBuf) {
		ioBuf = make([]byte, max(int(n), 2*len(ioBuf)))
	}
	return unsafe.Pointer(&ioBuf[0])
}

// countAnswer, set in a build with -tags testhooks, counts the answers
// given within the call (true) and later (false).
var countAnswer func(within bool)

// lastID numbers the answers that come later.
var lastID int32

// directServe serves the request of n bytes in ioBuf (see above).
//
//go:wasmexport tokenhelper_serve
func directServe(n int32) int32 {
	if n < 0 || int(n) > len(ioBuf) || handler == nil {
		return 0 // the entry module answers 500 to an empty answer
	}
	in := string(ioBuf[:n])
	var (
		status  int
		header  http.Header
		body    []byte
		done    bool
		laterID int32 // set once this call has returned without the answer
	)
	runJob(func() {
		st, hd, b := serveRequest(handler, in)
		if laterID != 0 {
			u := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(u, b)
			answerLater.Invoke(laterID, wire.EncodeHead(st, hd), u)
			return
		}
		status, header, body, done = st, hd, b, true
	})
	for i := 0; i < syncYields && !done; i++ {
		runtime.Gosched()
	}
	if countAnswer != nil {
		countAnswer(done)
	}
	if !done {
		lastID = max(1, lastID+1) // wraps after 2^31 answers that came late; none is that old
		laterID = lastID
		return -laterID
	}
	out := wire.AppendHead(ioBuf[:4], status, header)
	head := len(out) - 4
	out = append(out, body...)
	binary.LittleEndian.PutUint32(out, uint32(head))
	ioBuf = out[:cap(out)] // grown, if it had to
	return int32(len(out))
}
