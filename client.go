package tokenhelper

import (
	"context"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Client sends token requests: one attempt with [Client.Exchange], or with
// retries and backoff with [Client.Do] and [Client.Token].
type Client struct {
	// Transport sends the requests. Required.
	Transport Transport
	// Clock defaults to SystemClock.
	Clock Clock
	// Timeout bounds each attempt; 0 means 30 s.
	Timeout time.Duration
	// MaxBody caps the bytes read from an answer; 0 means 1 MiB.
	MaxBody int64
	// Retry says how failed attempts are retried; the zero value is
	// DefaultRetry.
	Retry RetryPolicy
	// Metadata keeps discovered authorization server metadata (see
	// [Client.Discover]); nil means one cache shared by the process.
	Metadata *MetadataCache
}

// RetryPolicy is capped exponential backoff with jitter for network
// errors, timeouts, HTTP 429 and 5xx. RFC 6749 errors (invalid_client,
// invalid_grant, ...) are never retried.
type RetryPolicy struct {
	// Attempts is the total number of tries; 1 disables retries.
	Attempts int
	// Base is the first delay, doubled each time up to Max.
	Base, Max time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a provider asking
	// for longer gets the error back at once instead.
	MaxRetryAfter time.Duration
}

// DefaultRetry tries 3 times, waiting about 0.25 s then 0.5 s, and honours
// a Retry-After of up to 10 s.
var DefaultRetry = RetryPolicy{Attempts: 3, Base: 250 * time.Millisecond, Max: 4 * time.Second, MaxRetryAfter: 10 * time.Second}

// Defaults for a Client's zero fields.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 1 << 20
)

func (c *Client) clock() Clock {
	if c.Clock == nil {
		return SystemClock
	}
	return c.Clock
}

// Token builds the request for cfg and sends it, retrying temporary
// failures as c.Retry says. It honours ctx between and during attempts.
// A Config with an Issuer and no TokenURL has its token endpoint
// discovered first (see [Client.Discover]). Each attempt is built anew,
// so that a retry carries a client assertion with a fresh jti, which a
// server that saw the first one would refuse as a replay, and a fresh
// DPoP proof. With Config.DPoP, a use_dpop_nonce refusal is sent once
// more with the server's new nonce (RFC 9449 8).
func (c *Client) Token(ctx context.Context, cfg Config) (*Token, error) {
	if _, err := cfg.Resolved(); err != nil {
		return nil, err
	}
	cfg, err := c.discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	req, err := BuildRequest(cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.AuthStyle.assertion() && cfg.DPoP == nil {
		return c.Do(ctx, req)
	}
	sent := 0
	build := func(int) (*Request, error) {
		r := req
		if sent++; sent > 1 && cfg.AuthStyle.assertion() {
			if r, err = BuildRequest(cfg); err != nil {
				return nil, err
			}
		}
		return withDPoP(ctx, r, cfg.DPoP)
	}
	tok, err := c.do(ctx, build)
	if nonceWanted(err, cfg.DPoP) {
		tok, err = c.do(ctx, build)
	}
	return tok, err
}

// nonceWanted reports whether err is a use_dpop_nonce refusal that a
// retry can answer: the server sent a nonce the refused proof did not
// carry (Exchange remembered it), and p can put it in a proof.
func nonceWanted(err error, p DPoPProver) bool {
	var e *Error
	_, ok := p.(DPoPNonceProver)
	return ok && errors.As(err, &e) && e.Code == CodeUseDPoPNonce && e.dpopNonceNew
}

// withDPoP is req with a DPoP header holding a fresh proof by p (with the
// server's last nonce), or req itself when p is nil.
func withDPoP(ctx context.Context, req *Request, p DPoPProver) (*Request, error) {
	if p == nil {
		return req, nil
	}
	proof, err := DPoPProof(ctx, p, req.Method, req.URL, "")
	if err != nil {
		// The prover's text could say anything about its key: keep it out.
		return nil, &Error{Kind: ErrConfig, Code: CodeConfig, Field: "DPoP", Description: "the DPoP key could not make a proof"}
	}
	with := *req
	with.Header = maps.Clone(req.Header)
	with.Header["Dpop"] = proof
	with.secrets = append(slices.Clip(req.secrets), proof)
	return &with, nil
}

// Do sends a request built by [BuildRequest] (or by hand, e.g. a POST to a
// tokenhelper Worker), retrying temporary failures as c.Retry says.
func (c *Client) Do(ctx context.Context, req *Request) (*Token, error) {
	return c.do(ctx, func(int) (*Request, error) { return req, nil })
}

// do is Do with the request of each attempt from build.
func (c *Client) do(ctx context.Context, build func(attempt int) (*Request, error)) (*Token, error) {
	p := c.Retry
	if p.Attempts == 0 {
		p = DefaultRetry
	}
	for attempt := 1; ; attempt++ {
		req, err := build(attempt)
		if err != nil {
			return nil, err
		}
		tok, err := c.Exchange(ctx, req)
		var e *Error
		if err == nil || attempt >= p.Attempts || !errors.As(err, &e) || !e.Temporary() {
			return tok, err
		}
		wait := p.backoff(attempt)
		if e.RetryAfter > 0 {
			if p.MaxRetryAfter > 0 && e.RetryAfter > p.MaxRetryAfter {
				return nil, err
			}
			wait = e.RetryAfter
		}
		if c.clock().Sleep(ctx, wait) != nil {
			return nil, err // the last real failure says more than "canceled"
		}
	}
}

// backoff returns the delay after the given failed attempt: Base doubled
// per attempt, capped at Max, with "equal jitter" (half fixed, half random)
// so that many clients do not retry in step.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.Base << (attempt - 1)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1)
}

// attempt is ctx bounded by the Client's Timeout (DefaultTimeout when
// zero), or an ErrConfig error for a Client without a Transport: the
// set-up of every request the Client sends.
func (c *Client) attempt(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if c.Transport == nil {
		return nil, nil, configError("Transport", "a Client needs a Transport")
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, nil
}

// Exchange sends req once and parses the answer. Failures are [*Error]s
// whose text is redacted with req's secrets.
func (c *Client) Exchange(ctx context.Context, req *Request) (*Token, error) {
	ctx, cancel, err := c.attempt(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	limit := c.MaxBody
	if limit == 0 {
		limit = DefaultMaxBody
	}
	status, header, body, err := c.roundTrip(ctx, req, limit)
	if err != nil {
		return nil, err
	}
	tok, err := parseResponse(status, header, body, c.clock().Now(), req.Redact)
	if req.Header["Dpop"] != "" {
		// RFC 9449 8: any answer may carry the server's next nonce.
		fresh := NoteDPoPNonce(req.URL, req.Header["Dpop"], header["dpop-nonce"], false)
		if e, ok := err.(*Error); ok {
			e.dpopNonceNew = fresh
		}
	}
	return tok, err
}

// roundTrip runs the transport and reads the body under ctx, even if the
// transport ignores ctx (as the Workers fetch does): an abandoned call is
// left to finish on its own.
func (c *Client) roundTrip(ctx context.Context, req *Request, limit int64) (int, map[string]string, []byte, error) {
	type result struct {
		resp *Response
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.Transport.RoundTrip(ctx, req)
		if err != nil {
			done <- result{err: err}
			return
		}
		if resp.Body == nil {
			done <- result{resp: resp}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		done <- result{resp: resp, body: body, err: err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	switch {
	case r.err == nil && int64(len(r.body)) > limit:
		return r.resp.Status, r.resp.Header, nil, &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Status: r.resp.Status,
			Description: "body larger than " + strconv.FormatInt(limit, 10) + " bytes"}
	case r.err == nil:
		return r.resp.Status, r.resp.Header, r.body, nil
	case errors.Is(r.err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return 0, nil, nil, &Error{Kind: ErrTimeout, Code: CodeTimeout, Err: context.DeadlineExceeded}
	case errors.Is(r.err, context.Canceled):
		return 0, nil, nil, &Error{Kind: ErrNetwork, Code: CodeNetwork, Err: context.Canceled}
	}
	status := 0
	if r.resp != nil { // the body broke off midway
		status = r.resp.Status
	}
	return 0, nil, nil, &Error{Kind: ErrNetwork, Code: CodeNetwork, Status: status,
		Err: &transportError{text: req.Redact(r.err.Error()), unreadable: errors.Is(r.err, ErrAnswerUnreadable)}}
}
