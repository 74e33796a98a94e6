//go:build js && wasm

package main

import (
	"context"
	"encoding/base64"
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// jsSigner is the module's client assertion signer (web/src/crypto.mjs):
// a private_key_jwt key or a client_secret_jwt secret imported into
// WebCrypto, non-extractable. The core builds the claims and the request
// (one mechanism, as in Go); only the signature is made in JavaScript.
// Go's own package assertion is not compiled in: it brings crypto/x509,
// RSA, ECDSA and golang-jwt, +286 KB brotli (+32 %) and over the
// browser's 1.5 MB gzip goal (measured in the report of branch web22).
type jsSigner struct{ fn js.Value }

var _ tokenhelper.AssertionSigner = jsSigner{}

// SignJWT calls the module's function with the claims (JSON text) and
// awaits its Promise of the compact JWS. It blocks, so it must run in a
// goroutine of its own (a token request's), never in a call from JS:
// buildTokenRequest uses previewSigner instead.
func (s jsSigner) SignJWT(claims []byte) (string, error) {
	v, err := jsbridge.Await(s.fn.Invoke(string(claims)))
	if err != nil {
		return "", err
	}
	if v.Type() != js.TypeString {
		return "", errors.New("the client assertion is not a string")
	}
	return v.String(), nil
}

// previewSigner stands in for the signer where a request is only shown
// (buildTokenRequest runs in a call from JS, which cannot await): the
// claims as they would be signed, an unsigned header and no signature.
// The page masks client_assertion anyway, as a secret.
type previewSigner struct{}

func (previewSigner) SignJWT(claims []byte) (string, error) {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"(signed when sent)","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + ".", nil
}

// takeSigner removes the module's assertionSigner function from the
// options object v (set by tokenhelper.mjs for private_key_jwt and
// client_secret_jwt), returning it (or undefined) and the rest.
func takeSigner(v js.Value) (js.Value, js.Value) {
	if v.Type() != js.TypeObject || v.Get("assertionSigner").Type() != js.TypeFunction {
		return js.Undefined(), v
	}
	fn := v.Get("assertionSigner")
	v = js.Global().Get("Object").Call("assign", jsbridge.Object(), v)
	v.Delete("assertionSigner")
	return fn, v
}

// discover returns a Promise of the metadata of issuer (RFC 8414, then
// OpenID Connect Discovery, through the page's fetch), after the core's
// checks: the document's issuer equal to the one asked for (mix-up
// defence), its token endpoint a URL credentials may go to.
func discover(issuer js.Value) any {
	return jsbridge.Promise(func() (any, error) {
		if issuer.Type() != js.TypeString {
			return nil, &jsbridge.OptionError{Name: "issuer", Reason: "must be a string"}
		}
		m, err := client().Discover(context.Background(), issuer.String())
		if err != nil {
			return nil, err
		}
		o := jsbridge.Object()
		o.Set("issuer", m.Issuer)
		o.Set("token_endpoint", m.TokenEndpoint)
		o.Set("token_endpoint_auth_methods_supported", jsbridge.ToJS(orEmpty(m.AuthMethods)))
		o.Set("dpop_signing_alg_values_supported", jsbridge.ToJS(orEmpty(m.DPoPAlgs)))
		return o, nil
	})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// clientAssertion returns a Promise of a client assertion as the options
// send it (the core's claims, signed by the module's signer), decoded:
// { header, claims }. The compact JWS, a credential for its lifetime, is
// not handed out: the page shows what it says, not something to replay.
func clientAssertion(o js.Value) any {
	opts, err := readOptions(o)
	return jsbridge.Promise(func() (any, error) {
		if err != nil {
			return nil, err
		}
		cfg := opts.cfg
		if opts.worker != nil || cfg.AuthStyle != tokenhelper.AuthPrivateKeyJWT && cfg.AuthStyle != tokenhelper.AuthClientSecretJWT {
			return nil, &jsbridge.OptionError{Name: "authStyle", Reason: `must be "private_key_jwt" or "client_secret_jwt"`}
		}
		if cfg.TokenURL == "" && cfg.Issuer != "" {
			m, err := client().Discover(context.Background(), cfg.Issuer)
			if err != nil {
				return nil, err
			}
			if cfg, err = m.Configure(cfg); err != nil {
				return nil, err
			}
		}
		req, err := tokenhelper.BuildRequest(cfg)
		if err != nil {
			return nil, err
		}
		for _, f := range req.Fields {
			if f.Name != "client_assertion" {
				continue
			}
			out := jsbridge.Object()
			for i, name := range []string{"header", "claims"} {
				raw, err := tokenhelper.DecodeSegmentJSON(f.Value, i)
				if err != nil {
					return nil, err
				}
				out.Set(name, js.Global().Get("JSON").Call("parse", string(raw)))
			}
			return out, nil
		}
		return nil, errors.New("tokenhelper: the request carries no client assertion")
	})
}
