// Package nethttp connects tokenhelper to net/http: the Transport for Go
// programs and native tests. The browser module and the Worker do not use
// it: both send with the JavaScript fetch through internal/jsbridge.Fetch.
// It is kept out of the root package so that their WebAssembly does not
// carry net/http's client.
package nethttp

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/tokenhelper/tokenhelper"
)

// Transport sends token requests with an *http.Client.
type Transport struct {
	// Client defaults to a zero http.Client. Redirects are never followed,
	// whatever its CheckRedirect says.
	Client *http.Client
}

// New returns a Transport over c (nil means a zero http.Client).
func New(c *http.Client) *Transport { return &Transport{Client: c} }

// RoundTrip implements tokenhelper.Transport.
func (t *Transport) RoundTrip(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	c := http.Client{}
	if t.Client != nil {
		c = *t.Client
	}
	// Never follow a redirect: a 307 would resend the client secret in the
	// body to wherever the Location points.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	return &tokenhelper.Response{Status: resp.StatusCode, Header: Header(resp.Header), Body: resp.Body}, nil
}

// Header flattens h to lower-case names with comma-joined values, the form
// tokenhelper.Response uses.
func Header(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}
