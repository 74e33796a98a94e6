package tokenhelper

import (
	"context"
	"time"
)

// FailureCache is a [Cache] that also shares failed renewals among the
// holders of a key, so that they back off together: a [Source] renewing
// under a [Coordinator]'s lock first looks for a failure published by
// another holder and, while its window lasts, repeats it without a
// request ([Error.Repeated]); after a failure of its own it publishes the
// window it backs off for. The browser module shares them between tabs.
type FailureCache interface {
	Cache
	// PutFailure records a failed renewal for key.
	PutFailure(ctx context.Context, key string, f Failure) error
	// GetFailure returns the failure recorded for key, or nil.
	GetFailure(ctx context.Context, key string) (*Failure, error)
}

// Failure is a failed renewal as holders share it: the code and status
// only (no description or excerpt: what goes to other holders is the
// least that lets them back off), and when the next attempt may be made.
type Failure struct {
	Code   string
	Status int
	Until  time.Time
}

// repeatFailure is f given again at now as an [*Error], or nil once its
// window is over.
func repeatFailure(f *Failure, now time.Time) *Error {
	if f == nil || !now.Before(f.Until) {
		return nil
	}
	return &Error{Kind: kindOf(f.Code), Code: f.Code, Status: f.Status, RetryAfter: f.Until.Sub(now), Repeated: true}
}

// kindOf is the sentinel behind an error code: one of the Code* constants,
// or else a provider's RFC 6749 code.
func kindOf(code string) error {
	switch code {
	case CodeConfig:
		return ErrConfig
	case CodeNetwork:
		return ErrNetwork
	case CodeTimeout:
		return ErrTimeout
	case CodeBadResponse:
		return ErrBadResponse
	}
	return ErrRejected
}
