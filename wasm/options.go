//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

// optionNames are the members of the JS options object (see
// tokenhelper.d.ts, TokenOptions).
var optionNames = []string{
	"provider", "tokenURL", "encoding", "authStyle", "grantType",
	"clientId", "clientSecret", "username", "password", "refreshToken",
	"scope", "audience", "worker",
}

// options is a JS options object read into either a core Config or the
// request to a tokenhelper Worker (worker not nil).
type options struct {
	cfg    tokenhelper.Config
	worker *tokenhelper.WorkerConfig
}

// readOptions converts a JS options object. Checking the values is the
// core's job (Config.Resolved); only the shapes are checked here.
func readOptions(v js.Value) (options, error) {
	m, err := jsbridge.Strings(v, optionNames...)
	if err != nil {
		return options{}, err
	}
	if w, ok := m["worker"]; ok {
		if len(m) > 1 {
			return options{}, &jsbridge.OptionError{Name: "worker", Reason: "a worker holds the credentials: give no other option with it"}
		}
		// In a browser the browser sets Origin: the WorkerConfig has none.
		wc := &tokenhelper.WorkerConfig{URL: w}
		if _, err := wc.Request(); err != nil {
			return options{}, optionError("worker", err)
		}
		return options{worker: wc}, nil
	}
	enc, err := tokenhelper.ParseEncoding(m["encoding"])
	if err != nil {
		return options{}, err
	}
	style, err := tokenhelper.ParseAuthStyle(m["authStyle"])
	if err != nil {
		return options{}, optionError("authStyle", err)
	}
	return options{cfg: tokenhelper.Config{
		Provider: m["provider"], TokenURL: m["tokenURL"], Encoding: enc, AuthStyle: style,
		GrantType: m["grantType"], ClientID: m["clientId"], ClientSecret: m["clientSecret"],
		Username: m["username"], Password: m["password"], RefreshToken: m["refreshToken"],
		Scope: m["scope"], Audience: m["audience"],
	}}, nil
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
