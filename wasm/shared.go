//go:build js && wasm

package main

import (
	"context"
	"syscall/js"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// tabs is the core's Cache and Coordinator across the tabs of an origin,
// backed by one source's view of tokenhelper.mjs's shared object
// (tabsShared(...).view in tabs.mjs), which replaces the key Go passes
// by the key and a fingerprint of the source's credentials: tokens
// in that tab's memory, passed between tabs by a BroadcastChannel, and
// renewals under a Web Lock. The lock and the channel are JavaScript
// because their callbacks run on the event loop; this only converts.
type tabs struct{ v js.Value }

var _ tokenhelper.FailureCache = tabs{}

// Get returns the token in this tab's memory for key, or nil.
func (c tabs) Get(_ context.Context, key string) (*tokenhelper.Token, error) {
	t := c.v.Call("get", key)
	if t.Type() != js.TypeObject {
		return nil, nil
	}
	return &tokenhelper.Token{
		AccessToken: t.Get("access_token").String(),
		TokenType:   t.Get("token_type").String(),
		ExpiresIn:   int64(t.Get("expires_in").Float()),
		Expiry:      time.UnixMilli(int64(t.Get("expires_at").Float())),
		Obtained:    time.UnixMilli(int64(t.Get("obtained_at").Float())),
	}, nil
}

// Put hands tok to the other tabs: its access token, type and expiry
// only; the refresh and ID tokens stay in this tab's Source.
func (c tabs) Put(_ context.Context, key string, tok *tokenhelper.Token, _ time.Time) error {
	o := jsbridge.Object()
	o.Set("access_token", tok.AccessToken)
	o.Set("token_type", tok.Type())
	o.Set("expires_in", tok.ExpiresIn)
	o.Set("expires_at", jsbridge.ToJS(tok.Expiry))
	o.Set("obtained_at", jsbridge.ToJS(tok.Obtained))
	c.v.Call("put", key, o)
	return nil
}

// Delete drops the token for key in every tab.
func (c tabs) Delete(_ context.Context, key string) error {
	c.v.Call("delete", key)
	return nil
}

// PutFailure hands a failed renewal (code, status, window) to the other tabs.
func (c tabs) PutFailure(_ context.Context, key string, f tokenhelper.Failure) error {
	o := jsbridge.Object()
	o.Set("code", f.Code)
	o.Set("status", f.Status)
	o.Set("until", jsbridge.ToJS(f.Until))
	c.v.Call("putFailure", key, o)
	return nil
}

// GetFailure returns the failure recorded for key in any tab, or nil.
func (c tabs) GetFailure(_ context.Context, key string) (*tokenhelper.Failure, error) {
	f := c.v.Call("getFailure", key)
	if f.Type() != js.TypeObject {
		return nil, nil
	}
	return &tokenhelper.Failure{Code: f.Get("code").String(), Status: f.Get("status").Int(),
		Until: time.UnixMilli(int64(f.Get("until").Float()))}, nil
}

// lock takes the Web Lock named by key (in JS, which resolves with the
// function that releases it), giving up when ctx ends. It runs in a
// flight's goroutine, never in a call from JS, so it may wait.
func (c tabs) lock(ctx context.Context, key string) (func(), error) {
	signal, stop := jsbridge.Signal(ctx)
	defer stop()
	release, err := jsbridge.Await(c.v.Call("lock", key, signal))
	if err != nil {
		return nil, err
	}
	return func() { release.Invoke() }, nil
}

// options returns the Source options that share its tokens across tabs.
func (c tabs) options() []tokenhelper.SourceOption {
	return []tokenhelper.SourceOption{tokenhelper.WithCache(c), tokenhelper.WithCoordinator(tokenhelper.LockCoordinator(c.lock))}
}
