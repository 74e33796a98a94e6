// Package apiproxy forwards a browser's calls under /api/ to the upstream
// API with the provider's token, so that the token never leaves the Worker
// (mode "mint" of the tokenhelper Worker). The caller is authenticated
// before the Proxy sees the request.
//
// What reaches the upstream is built, not copied: the method, the path
// below the prefix, the query, the body and an allowlist of harmless
// headers. Cookies, Host, X-Forwarded-*, the caller's Authorization and
// anything else are dropped, so header smuggling has nothing to ride on.
// A path that could mean something outside the upstream's base to some
// upstream is refused (see safeRest). What comes back is built too: an
// allowlist of response headers, Cache-Control capped at private (see
// passedResponseHeaders). Redirects are never followed (the token would
// go with them), and an upstream 401 gets one retry with a renewed
// provider token while the core's floor lets the refused token be
// dropped (tokenhelper.InvalidateFloor); otherwise the 401 is passed on.
package apiproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// Proxy is an http.Handler forwarding Prefix/... to Upstream/....
type Proxy struct {
	// Upstream is the API base URL (UPSTREAM_API_URL).
	Upstream *url.URL
	// Prefix is the path the browser calls, default "/api".
	Prefix string
	// Transport sends the upstream requests (the Workers fetch, or
	// net/http natively). It must not follow redirects.
	Transport tokenhelper.Transport
	// Token returns the provider's token; Invalidate drops one the API
	// refused.
	Token      func(context.Context) (*tokenhelper.Token, error)
	Invalidate func(context.Context, *tokenhelper.Token)
	// Timeout bounds each upstream call (default 30 s).
	Timeout time.Duration
	// MaxBody caps request bodies, which are buffered so that a 401 can be
	// retried (default 1 MiB).
	MaxBody int64
	// Redact masks the Worker's secrets in the provider's text of a
	// refused token request (respond.Scrub); nil leaves that text out.
	Redact func(string) string
	// Public is the Worker's own URL of Prefix ("https://w.example/api"),
	// to which an upstream Location under Upstream is rebased (see
	// Rebase); "" drops every Location on the upstream's origin.
	Public string
	// DPoP is the Worker's key, which the provider token may be bound to
	// (TOKEN_DPOP_KEY): a DPoP-bound token goes upstream as
	// "Authorization: DPoP" with a fresh proof by it.
	DPoP tokenhelper.DPoPProver
	// Refused, when set, is told of each call refused before any upstream
	// request, by reason ("path_refused", "body_too_large"), for the
	// worker's summarised refusal logs. It never changes the answer.
	Refused func(reason string)
}

// refused reports a refusal to p.Refused, if set.
func (p *Proxy) refused(reason string) {
	if p.Refused != nil {
		p.Refused(reason)
	}
}

// forwardedRequestHeaders are the only request headers sent upstream.
var forwardedRequestHeaders = []string{
	"Accept", "Accept-Language", "Content-Type", "Content-Language",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Range",
}

// ServeHTTP forwards one call.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, ok := p.admit(w, r)
	if !ok {
		return
	}
	max := p.MaxBody
	if max == 0 {
		max = 1 << 20
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		if err != nil {
			respond.Error(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
			return
		}
		if int64(len(b)) > max {
			p.refused("body_too_large")
			respond.Error(w, http.StatusRequestEntityTooLarge, "body_too_large", "request bodies are limited to "+strconv.FormatInt(max, 10)+" bytes")
			return
		}
		body = b
	}
	header := forwardHeaders(r)
	resp, err := p.call(r.Context(), r.Method, target, header, body)
	if err != nil {
		p.fail(w, err)
		return
	}
	defer resp.Body.Close()
	hd := w.Header()
	for k, v := range p.responseHeaders(resp.Header, target) {
		if k == "vary" {
			hd.Add(k, v) // beside the Worker's own Vary: Origin
		} else {
			hd.Set(k, v)
		}
	}
	w.WriteHeader(resp.Status)
	io.Copy(w, resp.Body)
}

// admit maps the call to its upstream URL, answering 400 for a path that
// climbs out of the prefix and 405 for a method never forwarded.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request) (target string, ok bool) {
	target, ok = p.target(r)
	if !ok {
		p.refused("path_refused")
		respond.Error(w, http.StatusBadRequest, "invalid_path", "the path must stay below "+p.prefix()+"/")
		return "", false
	}
	if r.Method == http.MethodConnect || r.Method == http.MethodTrace {
		respond.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not forwarded")
		return "", false
	}
	return target, true
}

// call sends the request with the provider token, and once more with a
// renewed token if the API answers 401 and the refused token could be
// dropped (see renewed); otherwise the 401 is the answer. Every method
// and body is retried: the body is held whole here (MaxBody).
func (p *Proxy) call(ctx context.Context, method, target string, header map[string]string, body []byte) (*tokenhelper.Response, error) {
	tok, err := p.Token(ctx)
	for attempt := 1; ; attempt++ {
		if err != nil {
			return nil, err
		}
		h := make(map[string]string, len(header)+1)
		for k, v := range header {
			h[k] = v
		}
		if err := p.authorize(ctx, h, method, target, tok); err != nil {
			return nil, err
		}
		timeout := p.Timeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := p.Transport.RoundTrip(cctx, &tokenhelper.Request{Method: method, URL: target, Header: h, Body: body})
		if err != nil {
			cancel()
			if cctx.Err() == context.DeadlineExceeded {
				return nil, errTimeout
			}
			return nil, errUnavailable
		}
		resp.Body = cancelOnClose{resp.Body, cancel}
		if resp.Status != http.StatusUnauthorized || attempt == 2 {
			return resp, nil
		}
		if p.nonceAsked(target, tok, h["Dpop"], []string{resp.Header["www-authenticate"]}, resp.Header["dpop-nonce"]) {
			resp.Body.Close() // the same token again, with the upstream's nonce
			continue
		}
		next, err := p.renewed(ctx, tok)
		if err == nil && next == nil {
			return resp, nil // the floor keeps the refused token: the 401 is the answer
		}
		resp.Body.Close()
		tok = next
	}
}

// renewed drops tok, which the upstream refused, and returns the token to
// retry with; nil (and no error) when there is none but tok itself: the
// core drops a token at most once per tokenhelper.InvalidateFloor, so an
// upstream answering 401 at will costs the provider one request a floor,
// not one a call. A token other than tok that is current already (another
// call renewed it) is taken as it is.
func (p *Proxy) renewed(ctx context.Context, tok *tokenhelper.Token) (*tokenhelper.Token, error) {
	if p.Invalidate != nil {
		p.Invalidate(ctx, tok)
	}
	next, err := p.Token(ctx)
	if err != nil {
		return nil, err
	}
	if next.AccessToken == tok.AccessToken {
		return nil, nil
	}
	return next, nil
}

var (
	errTimeout     = errors.New("the API did not answer in time")
	errUnavailable = errors.New("the API could not be reached")
)

// fail answers the contract's 502/503/504 without detail that could hold
// a secret: upstream_* when the API failed, and the core's own codes
// (respond.FromCore) when the token provider did.
func (p *Proxy) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errTimeout):
		respond.Error(w, http.StatusGatewayTimeout, "upstream_timeout", err.Error())
	case errors.Is(err, errUnavailable):
		respond.Error(w, http.StatusBadGateway, "upstream_unavailable", err.Error())
	case errors.Is(err, errNoProof):
		respond.Error(w, http.StatusInternalServerError, "server_error", err.Error())
	default:
		respond.FromCore(err, p.Redact).Write(w)
	}
}

// target maps the browser's path and query to the upstream URL, refusing
// a path that could mean something outside the base (see safeRest).
func (p *Proxy) target(r *http.Request) (string, bool) {
	prefix := p.prefix()
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	if !ok || (rest != "" && rest[0] != '/') || !safeRest(rest) {
		return "", false
	}
	u := *p.Upstream
	u.RawPath = strings.TrimSuffix(p.Upstream.EscapedPath(), "/") + rest
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = r.URL.RawQuery
	u.Fragment = ""
	return u.String(), true
}

func (p *Proxy) prefix() string {
	if p.Prefix == "" {
		return "/api"
	}
	return strings.TrimSuffix(p.Prefix, "/")
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
