//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// transport sends every token request with the page's fetch, without
// cookies; a fetch that rejects (CORS, offline) is never resent, since the
// request may have reached the provider. Tests replace it.
var transport tokenhelper.Transport = jsbridge.Fetch{Credentials: "omit", NoResendOnReject: true}

// client is the core client all requests go through (default retries:
// 3 attempts for network errors, 429 and 5xx).
func client() *tokenhelper.Client { return &tokenhelper.Client{Transport: transport} }

// clientFor is client, sending cookies to a Worker when the options ask
// for credentials "include" (an access proxy in front of the Worker, such
// as Cloudflare Access, reads its cookie).
func clientFor(opts options) *tokenhelper.Client {
	if opts.credentials != "include" {
		return client()
	}
	return &tokenhelper.Client{Transport: jsbridge.Fetch{Credentials: "include", NoResendOnReject: true}}
}

var jsError = js.Global().Get("Error")

// decodeJWT returns the decoded payload (or header) of token as JSON text,
// which tokenhelper.mjs parses, or a plain JS Error carrying jwt-decode's
// message, which it rethrows as an InvalidTokenError (a Go callback cannot
// throw). JSON text crosses in one call, where building the object from
// Go costs two calls per member: it more than halves the time of a call.
func decodeJWT(token js.Value, header bool) any {
	if token.Type() != js.TypeString {
		return jsError.New("Invalid token specified: must be a string")
	}
	part := 1
	if header {
		part = 0
	}
	raw, err := tokenhelper.DecodeSegmentJSON(token.String(), part)
	if err != nil {
		return jsError.New(err.Error())
	}
	return string(raw)
}

// buildTokenRequest returns the request the options describe, exactly as
// it would be sent, with a redacted copy for display; or a JS Error.
func buildTokenRequest(o js.Value) any {
	opts, err := readOptions(o)
	if err != nil {
		return jsbridge.ErrorValue(err)
	}
	if opts.worker != nil {
		// The browser adds the page's Origin, which the Worker checks: show
		// it, so that the headers and the curl are what the Worker sees.
		opts.worker.Origin = pageOrigin()
	}
	if _, ok := opts.cfg.Assertion.(jsSigner); ok {
		opts.cfg.Assertion = previewSigner{} // this call cannot await WebCrypto
	}
	req, err := request(opts)
	if err != nil {
		return jsbridge.ErrorValue(err)
	}
	fields := js.Global().Get("Array").New()
	for _, f := range req.MaskedFields() {
		fv := jsbridge.Object()
		fv.Set("name", f.Name)
		fv.Set("value", f.Value)
		fv.Set("secret", f.Secret)
		fields.Call("push", fv)
	}
	redacted := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		redacted[k] = req.Redact(v)
	}
	shown := jsbridge.Object()
	shown.Set("headers", jsbridge.ToJS(redacted))
	shown.Set("body", req.Redact(string(req.Body)))

	r := jsbridge.Object()
	r.Set("url", req.URL)
	r.Set("method", req.Method)
	r.Set("headers", jsbridge.ToJS(req.Header))
	r.Set("body", string(req.Body))
	r.Set("fields", fields)
	r.Set("curl", req.Curl())
	r.Set("redacted", shown)
	return r
}

// pageOrigin is location.origin, or "" where there is none (Node, an
// opaque origin).
func pageOrigin() string {
	loc := js.Global().Get("location")
	if loc.Type() != js.TypeObject {
		return ""
	}
	o := loc.Get("origin")
	if o.Type() != js.TypeString || o.String() == "null" {
		return ""
	}
	return o.String()
}

// requestToken returns a Promise of the token the options describe; an
// abort of signal (an AbortSignal, or undefined) cancels the request. The
// token carries raw: the answer's members as received (see recorder).
func requestToken(o, signal js.Value) any {
	opts, err := readOptions(o)
	if err != nil {
		return jsbridge.Promise(func() (any, error) { return nil, err })
	}
	return jsbridge.Promise(func() (any, error) {
		ctx, cancel := jsbridge.Context(signal)
		defer cancel()
		c := clientFor(opts)
		rec := &recorder{next: c.Transport}
		c.Transport = rec
		var tok *tokenhelper.Token
		if opts.worker != nil {
			tok, err = opts.worker.Token(ctx, c)
		} else {
			// Token discovers an issuer's endpoint and signs each
			// attempt's client assertion anew (a fresh jti).
			tok, err = c.Token(ctx, opts.cfg)
		}
		if err != nil {
			return nil, err
		}
		v := tokenValue(tok)
		if raw := rec.answer(opts.cfg.ClientSecret, opts.cfg.Password); raw != "" {
			v.Set("raw", js.Global().Get("JSON").Call("parse", raw))
		}
		return v, nil
	})
}

// request is the token request the options describe: the core's POST to
// a tokenhelper Worker, or the one BuildRequest makes from the Config.
func request(opts options) (*tokenhelper.Request, error) {
	if opts.worker != nil {
		return opts.worker.Request()
	}
	return tokenhelper.BuildRequest(opts.cfg)
}

// tokenValue converts a token to the JS object of the module contract:
// token_type is "Bearer" for any spelling of bearer; expires_at and
// obtained_at are milliseconds since the epoch (0 when unknown); claims
// are the access token's, when it is a JWT.
func tokenValue(t *tokenhelper.Token) js.Value {
	o := jsbridge.Object()
	o.Set("access_token", t.AccessToken)
	o.Set("token_type", t.Type())
	o.Set("expires_in", t.ExpiresIn)
	o.Set("expires_at", 0)
	if !t.Expiry.IsZero() {
		o.Set("expires_at", jsbridge.ToJS(t.Expiry))
	}
	o.Set("obtained_at", jsbridge.ToJS(t.Obtained))
	for k, v := range map[string]string{"id_token": t.IDToken, "refresh_token": t.RefreshToken, "scope": t.Scope} {
		if v != "" {
			o.Set(k, v)
		}
	}
	if in, err := tokenhelper.Inspect(t.AccessToken); err == nil { // a JWT access token
		o.Set("claims", jsbridge.ToJS(in.Claims))
	}
	return o
}

// providerList describes the built-in provider profiles for a picker.
func providerList() js.Value {
	ps := tokenhelper.Providers()
	a := js.Global().Get("Array").New(len(ps))
	for i, p := range ps {
		o := jsbridge.Object()
		o.Set("id", p.ID)
		o.Set("name", p.Name)
		o.Set("tokenURL", p.TokenURL)
		o.Set("encoding", p.Encoding.String())
		o.Set("grants", jsbridge.ToJS(p.Grants))
		o.Set("scope", p.Scope)
		o.Set("audience", p.Audience)
		o.Set("needsAudience", p.NeedsAudience)
		o.Set("notes", p.Notes)
		a.SetIndex(i, o)
	}
	return a
}

// errUnknownSource reports a source id that was closed or never opened.
var errUnknownSource = errors.New("tokenhelper: this token source was closed")
