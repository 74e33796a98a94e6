//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"syscall/js"

	"github.com/syumai/workers"

	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
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
// Long-lived, requests go through binding.serve (serveRequest) instead,
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
	// Made once and never released: it lives as long as the program.
	binding.Set("serve", js.FuncOf(func(_ js.Value, args []js.Value) any {
		in, done := args[0], args[1]
		go func() { done.Invoke(serveRequest(h, in)) }()
		return nil
	}))
	workers.Ready()
	select {}
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
// its own request:
//
//	{ method, url, headers: [[name, value], …], body: Uint8Array | null, hasBody }
//
// The entry module passes no body (hasBody says whether there is one): no
// handler but /api/ needs it, and /api/ answers a plan under which the
// entry module streams it (worker.Handler.PlanAPI). A handler that reads
// it anyway gets errBodyStreamed, not an empty body.
//
// and returns the answer, buffered, for the entry module to turn into a
// Response in that same request:
//
//	{ status, headers: [[name, value], …], body: Uint8Array }
//
// Header values are passed one by one, so Set-Cookie and values with
// commas arrive whole. Nothing here outlives the call.
func serveRequest(h http.Handler, in js.Value) js.Value {
	w := &bufferedWriter{header: http.Header{}}
	u, err := url.Parse(in.Get("url").String())
	if err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "the request URL cannot be read")
		return w.answer()
	}
	var body []byte
	if b := in.Get("body"); b.Type() == js.TypeObject {
		body = make([]byte, b.Get("byteLength").Int())
		js.CopyBytesToGo(body, b)
	}
	r, err := http.NewRequestWithContext(context.Background(), in.Get("method").String(), u.String(), bytes.NewReader(body))
	if err != nil {
		respond.Error(w, http.StatusBadRequest, "invalid_request", "the request cannot be read")
		return w.answer()
	}
	hs := in.Get("headers")
	for i, n := 0, hs.Length(); i < n; i++ {
		kv := hs.Index(i)
		r.Header.Add(kv.Index(0).String(), kv.Index(1).String())
	}
	if host := r.Header.Get("Host"); host != "" {
		r.Host = host
	}
	r.RemoteAddr = r.Header.Get("CF-Connecting-IP")
	r.ContentLength = int64(len(body))
	switch {
	case len(body) == 0 && in.Get("hasBody").Truthy():
		r.Body, r.ContentLength = streamedBody{}, -1
	case len(body) == 0:
		r.Body = http.NoBody
	}
	h.ServeHTTP(w, r)
	return w.answer()
}

// answer is what the writer holds, as the entry module's
// {status, headers, body}.
func (w *bufferedWriter) answer() js.Value {
	out := js.Global().Get("Object").New()
	out.Set("status", w.statusCode())
	hs := js.Global().Get("Array").New()
	for k, vs := range w.header {
		for _, v := range vs {
			hs.Call("push", js.ValueOf([]any{k, v}))
		}
	}
	out.Set("headers", hs)
	b := js.Global().Get("Uint8Array").New(w.buf.Len())
	js.CopyBytesToJS(b, w.buf.Bytes())
	out.Set("body", b)
	return out
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
