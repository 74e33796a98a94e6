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
	c.Transport = &BearerTransport{Source: src, Base: c.Transport}
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
//   - The caller's request is never modified (RoundTripper's contract);
//     an Authorization header it set is replaced.
//
// A failure to get a token is returned as the round trip's error: an
// [*tokenhelper.Error], reachable with errors.As through *url.Error.
type BearerTransport struct {
	Source TokenSource
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
	resp, err := base.RoundTrip(withToken(req, tok, req.Body))
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
	body := req.Body
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	resp.Body.Close()
	return base.RoundTrip(withToken(req, fresh, body))
}

// withToken is a shallow copy of req with tok as its Authorization and
// body as its Body.
func withToken(req *http.Request, tok *tokenhelper.Token, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", tok.AuthorizationHeader())
	return r
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
