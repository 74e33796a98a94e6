package nethttp

import (
	"context"
	"io"
	"net/http"

	"github.com/tokenhelper/tokenhelper"
)

// TokenSource is what [NewClient] and [BearerTransport] need of a
// [tokenhelper.Source]: a token, and a way to drop one an API refused.
type TokenSource interface {
	Token(ctx context.Context) (*tokenhelper.Token, error)
	Invalidate(ctx context.Context, tok *tokenhelper.Token)
}

// NewClient returns an *http.Client that authorizes every request with
// src's token, the shape Go programs know from golang.org/x/oauth2's
// NewClient. base supplies the timeout, the cookie jar and the transport
// below (nil: http.DefaultTransport and no timeout); it is not modified.
// See [BearerTransport] for the rules.
func NewClient(src TokenSource, base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	t := &BearerTransport{Source: src, Base: c.Transport}
	if p, ok := src.(interface {
		DPoPProver() tokenhelper.DPoPProver
	}); ok {
		t.DPoP = p.DPoPProver()
	}
	c.Transport = t
	return c
}

// BearerTransport is an http.RoundTripper that sets the Authorization
// header from Source on each request, by the same rules as the JS
// module's fetch:
//
//   - An answer 401 is retried once with a renewed token, when the request
//     can be sent again (no body, or http.Request.GetBody set, as
//     http.NewRequest does for in-memory bodies) and the renewal gave
//     another token. The Source forces at most one renewal per
//     [tokenhelper.InvalidateFloor], so an API that refuses every call
//     does not cost a provider request each; within the floor the 401 is
//     returned as it is.
//   - A redirect to another host carries no token: http.Client calls the
//     transport again for each hop, and the token is for the host the
//     program asked, not for whatever a Location names.
//   - A DPoP-bound token (token_type "DPoP", RFC 9449 7.1) goes as
//     "Authorization: DPoP <token>" with a DPoP header holding a fresh
//     proof by DPoP for this request (htm, htu without query and
//     fragment, ath of the token, and the server's last nonce). A 401
//     with WWW-Authenticate: DPoP error="use_dpop_nonce" and a new
//     DPoP-Nonce is sent once more with the same token and a proof
//     carrying that nonce (RFC 9449 9), which is kept for the next
//     requests to that server; the renewal rule above still applies
//     after it. A bound token without a prover is an error, not a
//     request: the token alone would be refused.
//   - The caller's request is never modified (RoundTripper's contract);
//     an Authorization header it set is replaced.
//
// A failure to get a token is returned as the round trip's error: an
// [*tokenhelper.Error], reachable with errors.As through *url.Error.
type BearerTransport struct {
	Source TokenSource
	// DPoP makes the proofs that go with DPoP-bound tokens; NewClient
	// takes it from a tokenhelper.Source (Config.DPoP,
	// WorkerConfig.DPoP).
	DPoP tokenhelper.DPoPProver
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if !sameHostAsFirst(req) {
		return base.RoundTrip(req)
	}
	tok, err := t.Source.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(base, req, tok, req.Body)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && replayable(req) && t.nonceWanted(req, tok, resp) {
		body, err := bodyAgain(req)
		if err != nil {
			return resp, nil
		}
		resp.Body.Close()
		if resp, err = t.send(base, req, tok, body); err != nil {
			return nil, err
		}
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) {
		return resp, err
	}
	t.Source.Invalidate(req.Context(), tok)
	fresh, err := t.Source.Token(req.Context())
	if err != nil || fresh.AccessToken == tok.AccessToken {
		// No other token to try (the floor held the refused one, or the
		// provider failed): the API's own answer says the most.
		return resp, nil
	}
	body, err := bodyAgain(req)
	if err != nil {
		return resp, nil
	}
	resp.Body.Close()
	return t.send(base, req, fresh, body)
}

// send sends a shallow copy of req with tok as its Authorization (and a
// DPoP proof for a bound token) and body as its Body.
func (t *BearerTransport) send(base http.RoundTripper, req *http.Request, tok *tokenhelper.Token, body io.ReadCloser) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", tok.AuthorizationHeader())
	r.Header.Del("DPoP")
	if tok.Type() == "DPoP" {
		if t.DPoP == nil {
			closeBody(r)
			return nil, &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: "DPoP",
				Description: "the token is DPoP-bound (RFC 9449) and this client has no key to prove it with"}
		}
		proof, err := tokenhelper.DPoPProof(r.Context(), t.DPoP, r.Method, r.URL.String(), tok.AccessToken)
		if err != nil {
			closeBody(r)
			return nil, &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: "DPoP",
				Description: "the DPoP key could not make a proof"}
		}
		r.Header.Set("DPoP", proof)
	}
	resp, err := base.RoundTrip(r)
	if err == nil && tok.Type() == "DPoP" && resp.StatusCode != http.StatusUnauthorized {
		// RFC 9449 9: a resource server may send its next nonce with any
		// answer (a 401's is handled by nonceWanted).
		tokenhelper.NoteDPoPNonce(r.URL.String(), proofOf(r), resp.Header.Get("DPoP-Nonce"), true)
	}
	return resp, err
}

// nonceWanted reports whether resp, a 401 to req sent with the bound
// token tok, asks for a proof with the server's nonce (RFC 9449 9) that
// the refused proof did not carry, remembering that nonce.
func (t *BearerTransport) nonceWanted(req *http.Request, tok *tokenhelper.Token, resp *http.Response) bool {
	if tok.Type() != "DPoP" {
		return false
	}
	if _, ok := t.DPoP.(tokenhelper.DPoPNonceProver); !ok {
		return false
	}
	return tokenhelper.DPoPNonceChallenge(resp.Header.Values("WWW-Authenticate")...) &&
		tokenhelper.NoteDPoPNonce(req.URL.String(), proofOf(resp.Request), resp.Header.Get("DPoP-Nonce"), true)
}

// proofOf is the DPoP proof a request sent carried ("" for none).
func proofOf(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.Header.Get("DPoP")
}

// bodyAgain is a fresh copy of a replayable req's body.
func bodyAgain(req *http.Request) (io.ReadCloser, error) {
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		return req.GetBody()
	}
	return req.Body, nil
}

// replayable reports whether req can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// sameHostAsFirst reports whether req goes to the host of the request the
// program made, of which req may be a redirect (req.Response is the
// answer that redirected it).
func sameHostAsFirst(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first == req || (first.URL.Scheme == req.URL.Scheme && first.URL.Host == req.URL.Host)
}

// closeBody closes req's body, as a RoundTripper must even on failure.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
