//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strings"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// optionNames are the members of the JS options object (see
// tokenhelper.d.ts, TokenOptions).
var optionNames = []string{
	"provider", "tokenURL", "encoding", "authStyle", "grantType",
	"clientId", "clientSecret", "username", "password", "refreshToken",
	"scope", "audience", "resource", "worker", "credentials",
	"issuer", // discovery (assertion.go)
}

// options is a JS options object read into either a core Config or the
// request to a tokenhelper Worker (worker not nil).
type options struct {
	cfg    tokenhelper.Config
	worker *tokenhelper.WorkerConfig
	// credentials is the fetch credentials mode towards a Worker:
	// "omit" (the default) or "include" (cookies, e.g. Cloudflare Access).
	credentials string
}

// readOptions converts a JS options object. Checking the values is the
// core's job (Config.Resolved); only the shapes are checked here.
func readOptions(v js.Value) (options, error) {
	caller := js.Undefined()
	if v.Type() == js.TypeObject && !v.Get("callerToken").IsUndefined() {
		// The one option that is a function: read apart from the strings.
		caller = v.Get("callerToken")
		v = js.Global().Get("Object").Call("assign", jsbridge.Object(), v)
		v.Delete("callerToken")
	}
	if v.Type() == js.TypeObject && js.Global().Get("Array").Call("isArray", v.Get("resource")).Bool() {
		// resource may be an array of URIs: read as the space-separated
		// list the string form is (a URI holds no space).
		joined := v.Get("resource").Call("join", " ")
		v = js.Global().Get("Object").Call("assign", jsbridge.Object(), v)
		v.Set("resource", joined)
	}
	prover := js.Undefined()
	if v.Type() == js.TypeObject && v.Get("dpopProof").Type() == js.TypeFunction {
		// Set by the module itself for { dpop: true } (tokenhelper.mjs):
		// proofs to the Worker, or to a custom provider's token endpoint.
		prover = v.Get("dpopProof")
		v = js.Global().Get("Object").Call("assign", jsbridge.Object(), v)
		v.Delete("dpopProof")
	}
	// private_key_jwt and client_secret_jwt: the module's WebCrypto signer.
	signer, v := takeSigner(v)
	m, err := jsbridge.Strings(v, optionNames...)
	if err != nil {
		return options{}, err
	}
	if w, ok := m["worker"]; ok {
		cred := m["credentials"]
		if len(m) > 1 && !(len(m) == 2 && cred != "") {
			return options{}, &jsbridge.OptionError{Name: "worker", Reason: "a worker holds the credentials: give no other option with it but credentials and callerToken"}
		}
		switch cred {
		case "", "omit", "include":
		default:
			return options{}, &jsbridge.OptionError{Name: "credentials", Reason: `must be "omit" or "include"`}
		}
		// In a browser the browser sets Origin: the WorkerConfig has none.
		wc := &tokenhelper.WorkerConfig{URL: w}
		if _, err := wc.Request(); err != nil {
			return options{}, optionError("worker", err)
		}
		if !caller.IsUndefined() {
			if caller.Type() != js.TypeFunction {
				return options{}, &jsbridge.OptionError{Name: "callerToken", Reason: "must be a function returning the caller's JWT (or a Promise of it)"}
			}
			wc.Caller = callerToken(caller)
		}
		if !prover.IsUndefined() {
			wc.DPoP = jsProver{prover}
		}
		return options{worker: wc, credentials: cred}, nil
	}
	if !caller.IsUndefined() || m["credentials"] != "" {
		name := "callerToken"
		if m["credentials"] != "" {
			name = "credentials"
		}
		return options{}, &jsbridge.OptionError{Name: name, Reason: "only goes with worker"}
	}
	enc, err := tokenhelper.ParseEncoding(m["encoding"])
	if err != nil {
		return options{}, err
	}
	style, err := tokenhelper.ParseAuthStyle(m["authStyle"])
	if err != nil {
		return options{}, optionError("authStyle", err)
	}
	cfg := tokenhelper.Config{
		Provider: m["provider"], TokenURL: m["tokenURL"], Encoding: enc, AuthStyle: style,
		GrantType: m["grantType"], ClientID: m["clientId"], ClientSecret: m["clientSecret"],
		Username: m["username"], Password: m["password"], RefreshToken: m["refreshToken"],
		Scope: m["scope"], Audience: m["audience"], Resource: strings.Fields(m["resource"]),
	}
	// Discovery and client assertions (assertion.go).
	cfg.Issuer = m["issuer"]
	if !signer.IsUndefined() {
		cfg.Assertion = jsSigner{signer}
	}
	if !prover.IsUndefined() {
		cfg.DPoP = jsProver{prover} // the core refuses it for built-in providers
	}
	return options{cfg: cfg}, nil
}

// optionError names the JS option behind a core configuration error,
// keeping the core's reason.
func optionError(name string, err error) error {
	reason := err.Error()
	var e *tokenhelper.Error
	if errors.As(err, &e) && e.Description != "" {
		reason = e.Description
	}
	return &jsbridge.OptionError{Name: name, Reason: reason}
}

// callerToken adapts the app's callerToken function: called for each
// request to the Worker, its result (a string, or a Promise of one)
// awaited.
func callerToken(fn js.Value) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		type result struct {
			v   js.Value
			err error
		}
		done := make(chan result, 1)
		go func() {
			v, err := jsbridge.Await(js.Global().Get("Promise").Call("resolve", fn.Invoke()))
			done <- result{v, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return "", r.err
			}
			if r.v.Type() != js.TypeString {
				return "", errors.New("callerToken gave " + r.v.Type().String() + ", not a string")
			}
			return r.v.String(), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
