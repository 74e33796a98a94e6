//go:build js && wasm

package main

import (
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
// URL of a tokenhelper Worker.
type options struct {
	cfg    tokenhelper.Config
	worker string
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
		if w == "" || tokenhelper.CheckURL(w) != nil {
			return options{}, &jsbridge.OptionError{Name: "worker", Reason: "must be the https URL of the worker's /token (http only on loopback)"}
		}
		return options{worker: w}, nil
	}
	enc, err := tokenhelper.ParseEncoding(m["encoding"])
	if err != nil {
		return options{}, err
	}
	var style tokenhelper.AuthStyle
	switch m["authStyle"] {
	case "", "body":
	case "basic":
		style = tokenhelper.AuthBasic
	default:
		return options{}, &jsbridge.OptionError{Name: "authStyle", Reason: `must be "body" or "basic"`}
	}
	return options{cfg: tokenhelper.Config{
		Provider: m["provider"], TokenURL: m["tokenURL"], Encoding: enc, AuthStyle: style,
		GrantType: m["grantType"], ClientID: m["clientId"], ClientSecret: m["clientSecret"],
		Username: m["username"], Password: m["password"], RefreshToken: m["refreshToken"],
		Scope: m["scope"], Audience: m["audience"],
	}}, nil
}
