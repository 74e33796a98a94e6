package tokenhelper

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
)

// WorkerConfig says where a deployed tokenhelper Worker hands out tokens:
// the client side of the worker contract, in which the Worker holds the
// credentials and the caller holds none.
type WorkerConfig struct {
	// URL is the Worker's token endpoint, e.g.
	// https://tokens.example.com/token (or /<route>/token). It must be
	// https, or http on a loopback host.
	URL string
	// Origin is sent as the Origin header, which the Worker checks
	// against its ALLOWED_ORIGINS. A Go program sets it; in a browser the
	// browser sets Origin itself, so it stays empty there.
	Origin string
	// Header holds further request headers by canonical name, e.g.
	// "Authorization": "Bearer <caller JWT>" for a Worker with the caller
	// gate on. Their values are secrets to the request: masked in its
	// errors and its curl rendering. Accept and Origin are set by the
	// request itself.
	Header map[string]string
	// Caller, when set, is asked before each POST for a caller JWT, sent
	// as "Authorization: Bearer <jwt>" to a Worker with the caller gate
	// on (CALLER_JWKS_URL): for a token the app itself keeps fresh, such
	// as an id_token. Its value is a secret of the request. The tokens are
	// shared under one cache key whatever it returns: one caller per
	// Source.
	Caller func(ctx context.Context) (string, error)
	// DPoP, when set, sends a DPoP proof by the caller's key with each
	// POST (RFC 9449 5), so that a Worker with DPOP allowed or required
	// hands out tokens bound to that key (token_type "DPoP"), good only
	// with a proof by it at the Worker's /api/ (nethttp.NewClient adds one).
	// Tokens are cached under the key's thumbprint: another key never
	// gets them.
	DPoP DPoPProver
}

// Request returns the POST a tokenhelper Worker answers with a token: no
// body and, without Origin and Header, only the Accept header, so that a
// browser sends it without a CORS preflight. It returns an [ErrConfig]
// error (Field "URL") when the URL is not one [CheckURL] accepts.
//
// The Worker's answers are token endpoint answers (RFC 6749 5.1 and 5.2),
// so [Client.Do] reads them like any other: 200 is the token; 403
// origin_not_allowed, 401 invalid_token, 429 rate_limited or 500
// misconfigured are [ErrRejected] errors with that code and status (the
// 5xx and 429 ones retried as temporary); an HTML page or other garbage
// is [ErrBadResponse].
func (w WorkerConfig) Request() (*Request, error) {
	if err := CheckURL(w.URL); err != nil {
		return nil, configError("URL", "must be the https URL of the worker's /token (http only on loopback)")
	}
	r := &Request{Method: "POST", URL: w.URL, Header: map[string]string{}}
	for k, v := range w.Header {
		r.Header[k] = v
		r.secrets = append(r.secrets, v)
	}
	r.Header["Accept"] = "application/json"
	if w.Origin != "" {
		r.Header["Origin"] = w.Origin
	}
	return r, nil
}

// NewWorkerSource returns a Source whose tokens come from POSTs to a
// deployed tokenhelper Worker. It caches, shares and renews them as
// [NewSource] does (a Worker hands out no refresh token), retrying as c
// says. It returns an [ErrConfig] error when w is not usable.
func NewWorkerSource(c *Client, w WorkerConfig, opts ...SourceOption) (*Source, error) {
	req, err := w.Request()
	if err != nil {
		return nil, err
	}
	key := workerKey(req)
	if w.Caller != nil {
		key += "-caller"
	}
	if w.DPoP != nil {
		key += "-dpop-" + w.DPoP.Thumbprint()
	}
	fetch := func(ctx context.Context) (*Token, error) { return w.token(ctx, c, req) }
	s := NewSourceFunc(c, key, fetch, opts...)
	s.dpop = w.DPoP
	return s, nil
}

// Token gets one token from the Worker, asking Caller first when set, and
// retrying as c says.
func (w WorkerConfig) Token(ctx context.Context, c *Client) (*Token, error) {
	req, err := w.Request()
	if err != nil {
		return nil, err
	}
	return w.token(ctx, c, req)
}

// token sends req, with the caller's JWT when w has a Caller and a DPoP
// proof when w has a DPoP key. (A retry by c resends the same proof; the
// Worker only spends a proof on an answer it gives after checking it, a
// token or a 400, which are not retried.)
func (w WorkerConfig) token(ctx context.Context, c *Client, req *Request) (*Token, error) {
	req, err := withDPoP(ctx, req, w.DPoP)
	if err != nil {
		return nil, err
	}
	if w.Caller != nil {
		jwt, err := w.Caller(ctx)
		if err != nil || jwt == "" {
			desc := "the caller token function gave no token"
			if err != nil {
				desc = "the caller token function failed: " + RedactText(err.Error(), jwt)
			}
			return nil, &Error{Kind: ErrConfig, Code: CodeConfig, Field: "Caller", Description: desc}
		}
		with := *req
		with.Header = maps.Clone(req.Header)
		with.Header["Authorization"] = "Bearer " + jwt
		with.secrets = append(slices.Clip(req.secrets), jwt)
		req = &with
	}
	return c.Do(ctx, req)
}

// workerKey names a Worker's tokens in a Cache: a hash of the URL and
// every header, since another Origin or caller may get another token.
// Like [CacheKey] it only names entries.
func workerKey(req *Request) string {
	h := fnv.New128a()
	h.Write([]byte(req.URL))
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(k) + ":" + req.Header[k]))
	}
	return "th1w-" + hex.EncodeToString(h.Sum(nil))
}
