//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/syumai/workers/cloudflare"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker"
)

// newHolderCoordinator returns the isolate's side of the TOKEN_HOLDER
// Durable Object when that binding exists (worker.HolderCoordinator,
// asking the object named by the cache key through its stub), or nil.
func newHolderCoordinator() *worker.HolderCoordinator {
	ns := cloudflare.GetBinding("TOKEN_HOLDER")
	if ns.Type() != js.TypeObject {
		return nil
	}
	console := js.Global().Get("console")
	return &worker.HolderCoordinator{
		Transport: stubTransport{ns},
		Log:       func(s string) { console.Call("warn", s) },
	}
}

// stubTransport sends the holder's ask to the object named by the key it
// carries (worker.HolderKeyHeader), with the stub's fetch.
type stubTransport struct{ ns js.Value }

func (t stubTransport) RoundTrip(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
	stub := t.ns.Call("get", t.ns.Call("idFromName", r.Header[worker.HolderKeyHeader]))
	return jsbridge.Fetch{Fn: stub.Get("fetch").Call("bind", stub)}.RoundTrip(ctx, r)
}

// composed runs inner's Renew inside outer's: the isolate's hold around
// the ask of the object, so that a background ask outlives the request
// that started it.
type composed struct{ outer, inner tokenhelper.Coordinator }

func (c composed) Renew(ctx context.Context, key string, renew func(context.Context) (*tokenhelper.Token, error)) (*tokenhelper.Token, error) {
	return c.outer.Renew(ctx, key, func(ctx context.Context) (*tokenhelper.Token, error) {
		return c.inner.Renew(ctx, key, renew)
	})
}

// newObjectStore is the TOKEN_HOLDER object's storage (ctx.storage, which
// the entry module puts in context.binding.storage) as a worker.Store:
// each entry {v, until} (until in Unix ms), an expired one a miss.
func newObjectStore() worker.Store {
	s := js.Global().Get("context").Get("binding").Get("storage")
	if s.Type() != js.TypeObject {
		return nil
	}
	return objectStore{s}
}

type objectStore struct{ s js.Value }

type objectEntry struct {
	V     string `json:"v"`
	Until int64  `json:"until"`
}

func (o objectStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := jsbridge.Await(o.s.Call("get", key))
	if err != nil || v.Type() != js.TypeString {
		return nil, err
	}
	var e objectEntry
	if json.Unmarshal([]byte(v.String()), &e) != nil || time.Now().UnixMilli() >= e.Until {
		return nil, nil
	}
	return []byte(e.V), nil
}

func (o objectStore) Put(_ context.Context, key string, v []byte, ttl time.Duration) error {
	b, err := json.Marshal(objectEntry{V: string(v), Until: time.Now().Add(ttl).UnixMilli()})
	if err != nil {
		return err
	}
	_, err = jsbridge.Await(o.s.Call("put", key, string(b)))
	return err
}

func (o objectStore) Delete(_ context.Context, key string) error {
	_, err := jsbridge.Await(o.s.Call("delete", key))
	return err
}
