//go:build js && wasm

package jsbridge

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/tokenhelper/tokenhelper"
)

var jsError = js.Global().Get("Error")

// CodeAborted is the code of an error caused by the caller's AbortSignal.
const CodeAborted = "aborted"

// ErrorValue turns a Go error into a JS Error whose name is
// "TokenHelperError", with the fields of a [*tokenhelper.Error]: code (the
// RFC 6749 code or config, network, timeout, bad_response), status (the
// HTTP status, 0 without an answer), and description, field, uri and
// retryAfter (seconds) when known. An [*OptionError] has code "config".
// An error caused by context.Canceled (the caller's AbortSignal) is named
// "AbortError" with code "aborted".
// Core errors never hold a secret, so neither does the JS Error.
func ErrorValue(err error) js.Value {
	v := jsError.New(err.Error())
	if errors.Is(err, context.Canceled) {
		v.Set("name", "AbortError")
		v.Set("code", CodeAborted)
		v.Set("status", 0)
		return v
	}
	v.Set("name", "TokenHelperError")
	v.Set("code", tokenhelper.CodeConfig)
	v.Set("status", 0)
	var e *tokenhelper.Error
	var oe *OptionError
	switch {
	case errors.As(err, &e):
		v.Set("code", e.Code)
		v.Set("status", e.Status)
		setIf(v, "description", e.Description)
		setIf(v, "field", e.Field)
		setIf(v, "uri", e.URI)
		if e.RetryAfter > 0 {
			v.Set("retryAfter", e.RetryAfter.Seconds())
		}
	case errors.As(err, &oe):
		setIf(v, "field", oe.Name)
	default:
		v.Set("code", "internal")
	}
	return v
}

func setIf(o js.Value, k, s string) {
	if s != "" {
		o.Set(k, s)
	}
}
