//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// jsProver is the module's DPoP key (web/src/crypto.mjs dpopProof): a
// non-extractable WebCrypto P-256 key kept in IndexedDB, which signs the
// proofs in JavaScript. Go only asks it for one per token request (to a
// custom provider, Config.DPoP) or per POST to the Worker
// (WorkerConfig.DPoP); no key material crosses into Go.
type jsProver struct{ fn js.Value }

var _ tokenhelper.DPoPNonceProver = jsProver{}

// DPoPProof calls the module's function and awaits its Promise.
func (p jsProver) DPoPProof(ctx context.Context, method, url, accessToken string) (string, error) {
	return p.DPoPProofNonce(ctx, method, url, accessToken, "")
}

// DPoPProofNonce is DPoPProof with a server's nonce (RFC 9449 8), which
// the core passes when the server asked for one (use_dpop_nonce) or sent
// one before: the core keeps the nonces, the module only signs.
func (p jsProver) DPoPProofNonce(ctx context.Context, method, url, accessToken, nonce string) (string, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := jsbridge.Await(p.fn.Invoke(method, url, accessToken, nonce))
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

// Thumbprint names the origin's one key in the core's cache key, which
// is per page (sources are memory-only): a constant will do. The names
// tabs share tokens under add the key's RFC 7638 thumbprint
// (tokenhelper.mjs), since a page without IndexedDB has a key of its own.
func (jsProver) Thumbprint() string { return "webcrypto" }

// Alg is the proofs' algorithm, which discovery checks against the
// issuer's dpop_signing_alg_values_supported (Metadata.Configure).
func (jsProver) Alg() string { return "ES256" }
