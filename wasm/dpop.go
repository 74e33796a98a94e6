//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// jsProver is the module's DPoP key (web/src/crypto.mjs dpopProof): a
// non-extractable WebCrypto P-256 key kept in IndexedDB, which signs the
// proofs in JavaScript. Go only asks it for one per POST to the Worker;
// no key material crosses into Go.
type jsProver struct{ fn js.Value }

// DPoPProof calls the module's function and awaits its Promise.
func (p jsProver) DPoPProof(ctx context.Context, method, url, accessToken string) (string, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := jsbridge.Await(p.fn.Invoke(method, url, accessToken))
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", r.err
		}
		if r.v.Type() != js.TypeString {
			return "", errors.New("the DPoP proof is not a string")
		}
		return r.v.String(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Thumbprint names the origin's one key: every tab of the origin shares
// it (IndexedDB), and sources are memory-only, so a constant will do.
func (jsProver) Thumbprint() string { return "webcrypto" }
