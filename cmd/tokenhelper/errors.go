package main

import (
	"errors"
	"strings"

	"github.com/tokenhelper/tokenhelper"
)

// exitCode is the exit status of a failure, by its kind.
func exitCode(err error) int {
	switch {
	case errors.Is(err, tokenhelper.ErrConfig):
		return exitConfig
	case errors.Is(err, tokenhelper.ErrRejected):
		return exitRejected
	case errors.Is(err, tokenhelper.ErrNetwork), errors.Is(err, tokenhelper.ErrTimeout):
		return exitNetwork
	case errors.Is(err, tokenhelper.ErrBadResponse):
		return exitBadReply
	}
	return exitOther
}

// errorLine is the one line a failure prints on stderr. The core's
// message names the RFC 6749 code or the kind and never holds a secret;
// a configuration error names the variable to set instead of the Config
// field: "tokenhelper: config: TOKENHELPER_CLIENT_ID is required".
func errorLine(err error, prefix string) string {
	var e *tokenhelper.Error
	if !errors.As(err, &e) {
		return "tokenhelper: " + err.Error()
	}
	if e.Kind != tokenhelper.ErrConfig {
		return strings.ReplaceAll(e.Error(), "\n", " ")
	}
	name := varFor(e.Field, prefix)
	if name == "" {
		name = e.Field
	}
	desc := e.Description
	switch {
	case desc == "":
		desc = " is invalid"
	case strings.HasPrefix(desc, "required"):
		desc = " is " + desc
	case strings.HasPrefix(desc, "must "), strings.HasPrefix(desc, "is "):
		desc = " " + desc
	default:
		desc = ": " + desc
	}
	return "tokenhelper: config: " + name + desc
}
