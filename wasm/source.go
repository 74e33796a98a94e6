//go:build js && wasm

package main

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// sourceTable holds the core Sources behind createTokenSource, by id, so
// that the exported functions are a fixed set (released at exit) rather
// than new js.Funcs per source.
type sourceTable struct {
	mu   sync.Mutex
	next int
	m    map[int]*source
}

// source is one core Source and the last token it handed out, which
// invalidate() drops when called without a token.
type source struct {
	src  *tokenhelper.Source
	mu   sync.Mutex
	last *tokenhelper.Token
}

var sources = &sourceTable{m: map[int]*source{}}

// open creates a Source for the options and returns its id, or a JS Error.
// A worker URL gives a Source fed by POSTs to that worker. shared, when
// not undefined, is tokenhelper.mjs's object sharing tokens across tabs.
func (t *sourceTable) open(o, shared js.Value) any {
	opts, err := readOptions(o)
	if err != nil {
		return jsbridge.ErrorValue(err)
	}
	var so []tokenhelper.SourceOption
	if shared.Type() == js.TypeObject {
		so = tabs{shared}.options()
	}
	var src *tokenhelper.Source
	if opts.worker != nil {
		src, err = tokenhelper.NewWorkerSource(clientFor(opts), *opts.worker, so...)
	} else {
		src, err = tokenhelper.NewSource(client(), opts.cfg, so...)
	}
	if err != nil {
		return jsbridge.ErrorValue(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	t.m[t.next] = &source{src: src}
	return t.next
}

func (t *sourceTable) get(id int) *source {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// key returns the name of the source's tokens in the cache, or "".
func (t *sourceTable) key(id int) string {
	if s := t.get(id); s != nil {
		return s.src.Key()
	}
	return ""
}

// token returns a Promise of the source's current token; an abort of
// signal (an AbortSignal, or undefined) makes this caller give up.
func (t *sourceTable) token(id int, signal js.Value) any {
	s := t.get(id)
	return jsbridge.Promise(func() (any, error) {
		if s == nil {
			return nil, errUnknownSource
		}
		ctx, cancel := jsbridge.Context(signal)
		defer cancel()
		tok, err := s.src.Token(ctx)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.last = tok
		s.mu.Unlock()
		return tokenValue(tok), nil
	})
}

// invalidate drops the given access token (a string), or else the last
// one handed out, so that the next token() obtains a new one.
func (t *sourceTable) invalidate(id int, access js.Value) {
	s := t.get(id)
	if s == nil {
		return
	}
	s.mu.Lock()
	tok := s.last
	s.mu.Unlock()
	if access.Type() == js.TypeString {
		tok = &tokenhelper.Token{AccessToken: access.String()}
	}
	s.src.Invalidate(context.Background(), tok)
}

// close forgets a source; tokenhelper.mjs calls it from close() and when
// the JS object is garbage collected.
func (t *sourceTable) close(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}
