//go:build js && wasm

package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/cache"

	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
	"github.com/tokenhelper/tokenhelper/worker"
)

// newStore returns KV when the TOKEN_KV binding exists, else the Cache API.
func newStore() worker.Store {
	if ns := cloudflare.GetBinding("TOKEN_KV"); ns.Type() == js.TypeObject {
		return kvStore{ns}
	}
	return cacheStore{cache.New()}
}

// cacheKeyURL is the synthetic URL entries are kept under: .invalid can
// never be requested from outside, so no visitor can read an entry.
const cacheKeyURL = "https://tokenhelper.invalid/v1/"

// cacheStore keeps entries in the Workers Cache API (caches.default): local
// to one data center, and a no-op on *.workers.dev (use KV there).
type cacheStore struct{ c *cache.Cache }

func keyRequest(key string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, cacheKeyURL+key, nil)
	return r
}

func (s cacheStore) Get(_ context.Context, key string) ([]byte, error) {
	res, err := s.c.Match(keyRequest(key), nil)
	if errors.Is(err, cache.ErrCacheNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return io.ReadAll(io.LimitReader(res.Body, 1<<20))
}

func (s cacheStore) Put(_ context.Context, key string, v []byte, ttl time.Duration) error {
	secs := int64((ttl + time.Second - 1) / time.Second)
	res := &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=" + strconv.FormatInt(secs, 10)}},
		Body:          io.NopCloser(strings.NewReader(string(v))),
		ContentLength: int64(len(v)),
	}
	return s.c.Put(keyRequest(key), res)
}

func (s cacheStore) Delete(_ context.Context, key string) error {
	err := s.c.Delete(keyRequest(key), nil)
	if errors.Is(err, cache.ErrCacheNotFound) {
		return nil
	}
	return err
}

// kvStore keeps entries in Workers KV: global and eventually consistent
// (a write may take up to a minute to be seen elsewhere), with a minimum
// TTL of 60 s; readers check a token's expiry themselves.
type kvStore struct{ ns js.Value }

func (s kvStore) Get(_ context.Context, key string) ([]byte, error) {
	v, err := jsbridge.Await(s.ns.Call("get", key))
	if err != nil || v.Type() != js.TypeString {
		return nil, err
	}
	return []byte(v.String()), nil
}

func (s kvStore) Put(_ context.Context, key string, v []byte, ttl time.Duration) error {
	opts := js.Global().Get("Object").New()
	opts.Set("expirationTtl", max(60, int((ttl+time.Second-1)/time.Second)))
	_, err := jsbridge.Await(s.ns.Call("put", key, string(v), opts))
	return err
}

func (s kvStore) Delete(_ context.Context, key string) error {
	_, err := jsbridge.Await(s.ns.Call("delete", key))
	return err
}
