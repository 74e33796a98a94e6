package dpop

import (
	"context"
	"net/http"

	"github.com/tokenhelper/tokenhelper"
)

// Transport is an http.RoundTripper for calls through a tokenhelper
// Worker's /api/: it sends the token of Source as Authorization ("DPoP"
// or "Bearer", as the token's type says) and, with a DPoP-bound token, a
// fresh proof by Prover for each request (htm, htu, ath). It does not
// retry: a 401 is passed on, and the caller may Invalidate the token.
type Transport struct {
	// Source gives the tokens, typically tokenhelper.NewWorkerSource with
	// WorkerConfig.DPoP set to Prover.
	Source interface {
		Token(context.Context) (*tokenhelper.Token, error)
	}
	// Prover is the key the tokens are bound to.
	Prover tokenhelper.DPoPProver
	// Base sends the request (default http.DefaultTransport).
	Base http.RoundTripper
}

// RoundTrip adds the Authorization and DPoP headers to a clone of req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Source.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", tok.AuthorizationHeader())
	if tok.Type() == "DPoP" {
		u := *r.URL
		u.RawQuery, u.Fragment = "", ""
		proof, err := t.Prover.DPoPProof(r.Context(), r.Method, u.String(), tok.AccessToken)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		r.Header.Set("DPoP", proof)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
