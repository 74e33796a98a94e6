//go:build js && wasm && testhooks

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper"
)

// testHooks serves endpoints for the end-to-end tests and the memory
// benchmark, only in a build with -tags testhooks (./build.sh builds it
// into dist/worker-testhooks; never deployed): they let a test make a
// request panic, crash the whole Go program, or wait, and tell which
// instance served it and how much memory Go holds. Everything else goes
// to h.
type testHooks struct{ h http.Handler }

func init() {
	withTestHooks = func(h http.Handler) http.Handler { return testHooks{h} }
	holderTransport = crashMidRenewal
	countAnswer = func(within bool) {
		if within {
			answeredWithin.Add(1)
		} else {
			answeredLater.Add(1)
		}
	}
}

// crashMidRenewal, when the TOKEN_HOLDER object's worker has
// TEST_HOLDER_CRASH=mid-renewal, ends the object's Go program once the
// provider has answered and before the object has kept or handed out the
// token: the object's instance killed mid-renewal, which the isolates
// asking it must survive.
func crashMidRenewal(t tokenhelper.Transport) tokenhelper.Transport {
	if cloudflare.Getenv("TEST_HOLDER_CRASH") != "mid-renewal" {
		return t
	}
	return tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		t.RoundTrip(ctx, r)
		go func() { panic("test hook: the TOKEN_HOLDER object's instance dies mid-renewal") }()
		select {}
	})
}

var (
	instanceID = strconv.FormatInt(time.Now().UnixNano(), 36) // set in the first request: the clock runs there
	served     atomic.Int64
	wokeAt     atomic.Int64 // Unix ms when the last /__test/later goroutine woke
	// Requests answered within the entry module's direct call, and later
	// (direct.go): how many take the fast path.
	answeredWithin, answeredLater atomic.Int64
)

func (t testHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := served.Add(1)
	switch r.URL.Path {
	case "/__test/instance":
		// Which Go instance answered, how many requests it has served,
		// and the Go memory figures.
		if ms, err := strconv.Atoi(r.URL.Query().Get("sleep_ms")); err == nil && ms > 0 && ms <= 10000 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"instance": instanceID, "served": n,
			"go_heap_alloc": m.HeapAlloc, "go_sys": m.Sys, "go_num_gc": m.NumGC,
			"woke_at_ms": wokeAt.Load(), "now_ms": time.Now().UnixMilli(),
			"answered_within_call": answeredWithin.Load(), "answered_later": answeredLater.Load()})
	case "/__test/later":
		// Answers at once and leaves a goroutine that sleeps sleep_ms and
		// then notes the time: whether Go's timer outlives the request
		// that set it.
		ms, _ := strconv.Atoi(r.URL.Query().Get("sleep_ms"))
		go func() {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			wokeAt.Store(time.Now().UnixMilli())
		}()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"now_ms":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + "}\n"))
	case "/__test/panic":
		// A panic inside the handler: recoverer answers 500, the
		// instance lives on.
		panic("test hook: panic in a request")
	case "/__test/crash":
		// A panic in a goroutine of its own: nothing can recover it, the
		// Go program ends with every request in flight on it.
		go func() { panic("test hook: crash of the Go program") }()
		select {}
	default:
		t.h.ServeHTTP(w, r)
	}
}
