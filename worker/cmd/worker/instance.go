//go:build js && wasm

package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall/js"

	"github.com/syumai/workers"

	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
	"github.com/tokenhelper/tokenhelper/worker/internal/wire"
)

// serve hands h to the entry module for as long as it asked:
// worker/entry/worker.mjs sets context.instance to "long-lived" when it
// keeps this program for every request of the isolate, or "per-request".
// Anything else (syumai's own worker.mjs) is per-request too, so that a
// program started for one request never outlives it.
//
// Per request, requests go through syumai's binding.handleRequest and the
// program ends after the first answer, as with workers.Serve.
//
// Long-lived, requests go through the tokenhelper_serve export (direct.go) instead,
// and the program never ends (syumai's Done channel closes after the first
// answer's body, so main blocks on nothing). syumai's handleRequest is not
// fit for a program that lives on: every answer's ReadableStream keeps
// two js.Funcs and a 16 KiB buffer that are never released (about 40 KB
// of workerd memory a request), and the Response it builds belongs to
// whichever request Go happened to run in.
//
// What a long-lived instance must not rely on (see worker/README.md): the
// runtime context syumai captures at start-up is the first request's, so
// cloudflare.Getenv/GetBinding read that request's env (the same object
// for every request of the isolate: fine), but cloudflare.WaitUntil and
// anything else using its ExecutionContext would act on the first
// request, long finished: do not call them.
func serve(h http.Handler) {
	workers.ServeNonBlock(h)
	if m := instanceMode(); m != "long-lived" && m != "object" {
		workers.Ready()
		<-workers.Done()
		return
	}
	binding := js.Global().Get("context").Get("binding")
	jsbridge.Via = binding.Get("await")
	// The entry module calls tokenhelper_serve (direct.go) for every
	// request; answers it could not give within that call come back
	// through binding.answer.
	handler, answerLater = h, binding.Get("answer")
	workers.Ready()
	select {}
}

// jobs hands a request to a goroutine that has served one before and is
// idle: a new goroutine starts with a small stack, and growing it
// (runtime.copystack) was about 6% of Go's time per request in workerd.
// At most maxIdle wait; beyond that a goroutine ends after its request,
// so that a burst leaves no more than maxIdle stacks behind.
var (
	jobs    = make(chan func())
	waiting atomic.Int32
)

const maxIdle = 16

// runJob runs job on an idle goroutine, or a new one.
func runJob(job func()) {
	select {
	case jobs <- job:
	default:
		go func() {
			job()
			for waiting.Add(1) <= maxIdle {
				j := <-jobs
				waiting.Add(-1)
				j()
			}
			waiting.Add(-1)
		}()
	}
}

// instanceMode is what the entry module put in context.instance.
func instanceMode() string {
	v := js.Global().Get("context").Get("instance")
	if v.Type() != js.TypeString {
		return "per-request"
	}
	return v.String()
}

// serveRequest runs h for one request, as the entry module passes it in
// its own request (worker/internal/wire: method, URL, whether a body
// follows, the headers, in one string), and returns the answer, buffered,
// for the entry module to turn into a Response in that same request: its
// status, headers and body.
//
// The entry module passes no body: no handler but /api/ needs it, and
// /api/ answers a plan under which the entry module streams it
// (worker.Handler.PlanAPI). A handler that reads it anyway gets
// errBodyStreamed, not an empty body. Nothing here outlives the call.
func serveRequest(h http.Handler, in string) (int, http.Header, []byte) {
	w := &bufferedWriter{header: http.Header{}}
	r, err := newRequest(in)
	if err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "the request cannot be read")
	} else {
		h.ServeHTTP(w, r)
	}
	return w.statusCode(), w.header, w.buf.Bytes()
}

// newRequest makes the entry module's request an *http.Request.
func newRequest(in string) (*http.Request, error) {
	wr, err := wire.DecodeRequest(in)
	if err != nil {
		return nil, err
	}
	// What http.NewRequest does, less its checks of what the Fetch API
	// has checked already (the method, the URL's form).
	u, err := url.Parse(wr.URL)
	if err != nil {
		return nil, err
	}
	r := &http.Request{Method: wr.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: wr.Header, Body: http.NoBody, Host: u.Host}
	if host := r.Header.Get("Host"); host != "" {
		r.Host = host
	}
	r.RemoteAddr = r.Header.Get("CF-Connecting-IP")
	if wr.HasBody {
		r.Body, r.ContentLength = streamedBody{}, -1
	}
	return r, nil
}

// bufferedWriter is an http.ResponseWriter that keeps the answer in
// memory: the worker's answers are small JSON documents.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(p)
}

func (w *bufferedWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// streamedBody stands for a body the entry module streams itself.
type streamedBody struct{}

var errBodyStreamed = errors.New("the request body is streamed by the entry module, not passed to Go")

func (streamedBody) Read([]byte) (int, error) { return 0, errBodyStreamed }
func (streamedBody) Close() error             { return nil }
