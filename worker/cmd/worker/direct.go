//go:build js && wasm

package main

import (
	"encoding/binary"
	"net/http"
	"runtime"
	"time"
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
//     handler's answer is kept under that id once it has what it waited
//     for (the provider's answer, a Cache API or KV read, the
//     TOKEN_HOLDER's answer, a backoff), whatever event resumed Go.
//   - tokenhelper_poll(id) runs Go's ready goroutines (as serve does) and
//     gives the answer kept under id, as tokenhelper_serve would have
//     given it, or minus id while there is none yet, or 0 for an id it
//     does not know. The request polls itself, in its own context
//     (worker/entry/worker.mjs, ask), so an answer never goes to a
//     request from another request's event.
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

// handler is the handler the exports serve, set by serve (instance.go)
// before the program signals it is ready.
var handler http.Handler

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

// answer is a handler's answer, buffered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// kept holds the answers that came later, by id, until the request polls
// for them: nil while the handler still runs. An answer nobody polled for
// within keepFor (its request was canceled: its client went away) is
// dropped when the next one is kept.
var (
	kept     = map[int32]*keptAnswer{}
	keepFor  = 5 * time.Minute
	lastKeep time.Time
)

type keptAnswer struct {
	*answer
	at time.Time
}

// keep files a for id, which a request polls for.
func keep(id int32, a *answer) {
	now := time.Now()
	if now.Sub(lastKeep) > keepFor {
		for k, v := range kept {
			if v != nil && now.Sub(v.at) > keepFor {
				delete(kept, k)
			}
		}
		lastKeep = now
	}
	if _, ok := kept[id]; ok {
		kept[id] = &keptAnswer{a, now}
	}
}

// directServe serves the request of n bytes in ioBuf (see above).
//
//go:wasmexport tokenhelper_serve
func directServe(n int32) int32 {
	if n < 0 || int(n) > len(ioBuf) || handler == nil {
		return 0 // the entry module answers 500 to an empty answer
	}
	in := string(ioBuf[:n])
	var (
		got     *answer
		laterID int32 // set once this call has returned without the answer
	)
	runJob(func() {
		st, hd, b := serveRequest(handler, in)
		a := &answer{st, hd, b}
		if laterID != 0 {
			keep(laterID, a)
			return
		}
		got = a
	})
	for i := 0; i < syncYields && got == nil; i++ {
		runtime.Gosched()
	}
	if countAnswer != nil {
		countAnswer(got != nil)
	}
	if got == nil {
		lastID = max(1, lastID+1) // wraps after 2^31 answers that came late; none is that old
		laterID = lastID
		kept[laterID] = nil
		return -laterID
	}
	return writeAnswer(got)
}

// directPoll gives the answer kept under id (see above).
//
//go:wasmexport tokenhelper_poll
func directPoll(id int32) int32 {
	for i := 0; i < syncYields && kept[id] == nil; i++ {
		runtime.Gosched()
	}
	k, ok := kept[id]
	if !ok {
		return 0
	}
	if k == nil {
		return -id
	}
	delete(kept, id)
	return writeAnswer(k.answer)
}

// writeAnswer puts a into ioBuf for the entry module and returns its
// length.
func writeAnswer(a *answer) int32 {
	out := wire.AppendHead(ioBuf[:4], a.status, a.header)
	head := len(out) - 4
	out = append(out, a.body...)
	binary.LittleEndian.PutUint32(out, uint32(head))
	ioBuf = out[:cap(out)] // grown, if it had to
	return int32(len(out))
}
