package respond

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// Failure is a failed token request as the worker answers it.
type Failure struct {
	// Status is 500, 502, 503 or 504.
	Status int
	// Code is the core's: the provider's RFC 6749 code (invalid_client,
	// …), or timeout, network, bad_response; misconfigured for a
	// configuration error.
	Code        string
	Description string
	// RetryAfter is the provider's Retry-After, sent with a 503, or for a
	// repeated failure the time until the worker asks the provider again
	// (sent whatever the status).
	RetryAfter time.Duration
}

// FromCore maps a failed token request to the worker contract: 504 when
// the provider did not answer in time, 503 when it could not be reached
// or answered 5xx/429 after the retries, 502 when it refused the request
// (RFC 6749 error) or answered something unusable, 500 misconfigured for
// a configuration error. The code is the core's, the description the
// worker's own, with the provider's error_description appended through
// redact (secrets masked) when it refused; a nil redact leaves it out.
func FromCore(err error, redact func(string) string) Failure {
	var e *tokenhelper.Error
	if !errors.As(err, &e) {
		return Failure{Status: http.StatusBadGateway, Code: tokenhelper.CodeNetwork, Description: "the token request failed"}
	}
	f := Failure{Status: http.StatusBadGateway, Code: safeCode(e.Code)}
	switch {
	case e.Kind == tokenhelper.ErrConfig:
		return Failure{Status: http.StatusInternalServerError, Code: "misconfigured", Description: "the worker's settings are invalid"}
	case e.Kind == tokenhelper.ErrTimeout:
		f.Status = http.StatusGatewayTimeout
	case e.Temporary():
		f.Status = http.StatusServiceUnavailable
		f.RetryAfter = e.RetryAfter
	}
	switch e.Kind {
	case tokenhelper.ErrRejected:
		f.Description = "the token endpoint refused the request"
	case tokenhelper.ErrTimeout:
		f.Description = "the token endpoint did not answer in time"
	case tokenhelper.ErrNetwork:
		f.Description = "the token endpoint could not be reached"
	default:
		f.Description = "the token endpoint's answer is not a usable token response"
	}
	if e.Status != 0 {
		f.Description += " (HTTP " + strconv.Itoa(e.Status) + ")"
	}
	if e.Repeated {
		// The core's backoff: the same answer as the failure it repeats,
		// and when the provider will be asked again.
		f.RetryAfter = e.RetryAfter
		f.Description += "; repeated without asking it again until the backoff ends"
	}
	if e.Kind == tokenhelper.ErrRejected && e.Description != "" && redact != nil {
		f.Description += ": " + redact(e.Description)
	}
	return f
}

// Write answers f, with Retry-After (whole seconds, rounded up) when
// FromCore set one.
func (f Failure) Write(w http.ResponseWriter) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	Error(w, f.Status, f.Code, f.Description)
}

// Scrub returns a redact function for [FromCore]: text the provider sent,
// with the given secrets masked or the text withheld as
// [tokenhelper.RedactText] does, capped in length.
func Scrub(secrets ...string) func(string) string {
	return func(s string) string {
		s = tokenhelper.RedactText(s, secrets...)
		const max = 200
		if len(s) > max {
			s = strings.ToValidUTF8(s[:max], "") + "…"
		}
		return s
	}
}

// safeCode keeps an error code to the RFC 6749 character set and a sane
// length; anything else becomes "invalid_response".
func safeCode(c string) string {
	if c == "" || len(c) > 64 {
		return "invalid_response"
	}
	for _, r := range c {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return "invalid_response"
		}
	}
	return c
}
