//go:build js && wasm

package jsbridge

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
)

// Fetch sends token requests with the global fetch of a browser or a
// Worker. Unlike Go's net/http js transport it brings no net/http into
// the binary, sends the body as bytes (so a Content-Length, not chunked),
// sends no credentials field unless asked (workerd rejects it), never
// follows redirects (a 307 would resend the secret elsewhere), aborts the
// fetch when the context ends, and keeps header values whole.
type Fetch struct {
	// Credentials, when set, is the fetch credentials mode; the browser
	// module uses "omit" so that no cookie reaches a token endpoint.
	Credentials string
	// NoResendOnReject reports a fetch that rejects as
	// tokenhelper.ErrAnswerUnreadable, which the core never resends: in a
	// browser such a request may well have reached the endpoint, whose
	// answer only CORS hid. In a Worker a rejection is a plain network
	// error, retried.
	NoResendOnReject bool
	// Fn, when set, is the fetch function to call instead of the global
	// fetch: a Durable Object stub's fetch, bound to its stub.
	Fn js.Value
}

// unreadable is a rejected fetch in a browser (see NoResendOnReject).
type unreadable struct{ error }

// Is lets errors.Is find tokenhelper.ErrAnswerUnreadable.
func (unreadable) Is(target error) bool { return target == tokenhelper.ErrAnswerUnreadable }

// fetchFn is looked up once; js.Global() is a Proxy in syumai's
// wasm_exec.js, where js.Global().Call("fetch") fails with "Illegal
// invocation", so the function value is invoked instead.
var fetchFn = js.Global().Get("fetch")

// RoundTrip implements tokenhelper.Transport.
func (f Fetch) RoundTrip(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
	init := js.Global().Get("Object").New()
	init.Set("method", r.Method)
	h := js.Global().Get("Headers").New()
	for k, v := range r.Header {
		h.Call("set", k, v)
	}
	init.Set("headers", h)
	if len(r.Body) > 0 {
		ua := js.Global().Get("Uint8Array").New(len(r.Body))
		js.CopyBytesToJS(ua, r.Body)
		init.Set("body", ua)
	}
	init.Set("redirect", "manual")
	if f.Credentials != "" {
		init.Set("credentials", f.Credentials)
	}
	signal, stop := Signal(ctx)
	init.Set("signal", signal)

	fn := fetchFn
	if f.Fn.Type() == js.TypeFunction {
		fn = f.Fn
	}
	res, err := Await(fn.Invoke(r.URL, init))
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if f.NoResendOnReject {
			return nil, unreadable{err}
		}
		return nil, err
	}
	if res.Get("type").String() == "opaqueredirect" {
		stop()
		return nil, errors.New("the token endpoint answered with a redirect, which is not followed")
	}
	header := map[string]string{}
	it := res.Get("headers").Call("entries")
	for n := it.Call("next"); !n.Get("done").Bool(); n = it.Call("next") {
		kv := n.Get("value")
		header[strings.ToLower(kv.Index(0).String())] = kv.Index(1).String()
	}
	return &tokenhelper.Response{
		Status: res.Get("status").Int(),
		Header: header,
		Body:   &streamBody{ctx: ctx, res: res, stop: stop},
	}, nil
}

// streamBody reads a fetch Response body chunk by chunk, so that a reader
// that stops early (the core caps bodies at 1 MiB) never pulls the rest.
type streamBody struct {
	ctx    context.Context
	res    js.Value
	reader js.Value
	buf    []byte
	done   bool
	stop   func() bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done {
			return 0, io.EOF
		}
		if b.reader.IsUndefined() {
			body := b.res.Get("body")
			if body.IsNull() || body.IsUndefined() {
				b.done = true
				return 0, io.EOF
			}
			b.reader = body.Call("getReader")
		}
		chunk, err := Await(b.reader.Call("read"))
		if err != nil {
			if b.ctx.Err() != nil {
				return 0, b.ctx.Err()
			}
			return 0, err
		}
		if chunk.Get("done").Bool() {
			b.done = true
			continue
		}
		v := chunk.Get("value")
		b.buf = make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(b.buf, v)
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// Close cancels what is left of the body and releases the abort hook.
func (b *streamBody) Close() error {
	b.stop()
	if !b.done && !b.reader.IsUndefined() {
		quietly(func() { b.reader.Call("cancel") })
	}
	b.done = true
	return nil
}

// quietly runs f, a best-effort call into JS that must not end the
// program if it throws. In a Worker, Go runs inside whichever request
// last called into it, while an AbortController or a body reader belongs
// to the request that made the fetch: workerd then throws "Cannot perform
// I/O on behalf of a different request", which syscall/js turns into a
// panic, and a panic in this goroutine (context.AfterFunc runs f in one of
// its own) would kill the instance with every request on it. Not aborting
// is harmless: the caller has already given up on the answer.
func quietly(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, thrown := r.(js.Error); !thrown {
				panic(r) // a bug of ours, not a JS exception
			}
		}
	}()
	f()
}
