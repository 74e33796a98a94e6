package tokenhelper

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Every error returned while obtaining a token is an
// [*Error] whose Kind is one of these, so callers branch with errors.Is.
var (
	// ErrConfig reports a configuration that cannot produce a valid request.
	// It is returned before anything is sent.
	ErrConfig = errors.New("tokenhelper: invalid configuration")
	// ErrNetwork reports that the token endpoint could not be reached.
	ErrNetwork = errors.New("tokenhelper: network error")
	// ErrTimeout reports that the token endpoint did not answer in time.
	ErrTimeout = errors.New("tokenhelper: timeout")
	// ErrBadResponse reports an answer that is not a usable token response:
	// HTML, truncated or oversized JSON, a missing access_token, an invalid
	// expires_in, or an HTTP error without an RFC 6749 error body.
	ErrBadResponse = errors.New("tokenhelper: bad response from token endpoint")
	// ErrRejected reports an RFC 6749 section 5.2 error sent by the provider
	// (invalid_client, invalid_grant, ...), even with HTTP status 200.
	ErrRejected = errors.New("tokenhelper: token request rejected")
)

// ErrAnswerUnreadable is the cause of an [ErrNetwork] error when the
// request may have reached the token endpoint but its answer could not be
// read: in a browser, a fetch that rejects (a CORS refusal, a refused
// connection and being offline all look alike there; a multipart or
// urlencoded POST needs no preflight, so it was sent). Such a request is
// never resent: the provider may have issued a token, or counted a login
// attempt, for each one.
var ErrAnswerUnreadable = errors.New("the answer could not be read; when the page is online, the likely cause is a token endpoint that sends no CORS headers for this origin; not resent, since the request may have reached it")

// Codes used in [Error.Code] when the provider did not send an RFC 6749 code.
const (
	CodeConfig      = "config"
	CodeNetwork     = "network"
	CodeTimeout     = "timeout"
	CodeBadResponse = "bad_response"
)

// Error describes a failed token request. It carries the RFC 6749 section 5.2
// fields when the provider sent them. No field ever holds a client secret, a
// password or a token: the Excerpt is redacted before it is stored.
type Error struct {
	// Kind is one of the package's sentinel errors.
	Kind error
	// Code is the provider's RFC 6749 "error" value, or one of the Code*
	// constants.
	Code string
	// Description and URI are the provider's error_description and error_uri.
	Description string
	URI         string
	// Status is the HTTP status code, or 0 when no answer was received.
	Status int
	// RetryAfter is the delay the provider asked for (Retry-After), if
	// any; for a Repeated error, how long until the next attempt.
	RetryAfter time.Duration
	// Repeated reports a failure given again by a [Source] without a new
	// request, during the backoff after the failure it repeats.
	Repeated bool
	// Field names the Config field at fault, for ErrConfig.
	Field string
	// Excerpt is the start of an unusable body, secrets masked.
	Excerpt string
	// Err is the underlying cause, if any.
	Err error

	// dpopNonceNew: the answer carried a DPoP-Nonce the request's proof
	// did not (a use_dpop_nonce refusal worth one retry).
	dpopNonceNew bool
}

// Error returns a one-line message starting with the package name.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tokenhelper: ")
	switch e.Kind {
	case ErrRejected:
		b.WriteString(e.Code)
	case ErrConfig:
		b.WriteString("invalid configuration")
	case ErrNetwork:
		b.WriteString("network error")
	case ErrTimeout:
		b.WriteString("timeout")
	default:
		b.WriteString("bad response")
	}
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	switch {
	case e.Repeated:
		b.WriteString(" (repeated without a new request; next attempt in ")
		b.WriteString(e.RetryAfter.Round(time.Millisecond).String())
		b.WriteString(")")
	case e.RetryAfter > 0:
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	if e.Excerpt != "" {
		b.WriteString(": body starts ")
		b.WriteString(strconv.Quote(e.Excerpt))
	}
	return b.String()
}

// Is reports whether target is the error's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: network errors
// (but not [ErrAnswerUnreadable]), timeouts, HTTP 429 and 5xx answers.
func (e *Error) Temporary() bool {
	switch {
	case e.Kind == ErrNetwork, e.Kind == ErrTimeout:
		return !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, ErrAnswerUnreadable)
	case e.Status == 429, e.Status >= 500:
		return true
	}
	return false
}

func configError(field, description string) *Error {
	return &Error{Kind: ErrConfig, Code: CodeConfig, Field: field, Description: description}
}

// transportError is a Transport's failure, its text (from outside: a
// JavaScript exception's message, say) redacted. It still matches
// ErrAnswerUnreadable when the Transport's error did.
type transportError struct {
	text       string
	unreadable bool
}

func (e *transportError) Error() string {
	if e.unreadable {
		return ErrAnswerUnreadable.Error() + ": " + e.text
	}
	return e.text
}

// Is lets errors.Is find ErrAnswerUnreadable.
func (e *transportError) Is(target error) bool { return e.unreadable && target == ErrAnswerUnreadable }
