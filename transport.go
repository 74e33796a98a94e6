package tokenhelper

import (
	"context"
	"io"
	"time"
)

// Transport sends one request and returns the answer. Natively it is
// net/http (package nethttp); in a browser or a Worker it is fetch.
// Keeping net/http out of this package keeps it out of the browser's
// WebAssembly binary, where it would add several megabytes.
type Transport interface {
	RoundTrip(ctx context.Context, req *Request) (*Response, error)
}

// TransportFunc adapts a function to [Transport].
type TransportFunc func(ctx context.Context, req *Request) (*Response, error)

// RoundTrip calls f.
func (f TransportFunc) RoundTrip(ctx context.Context, req *Request) (*Response, error) {
	return f(ctx, req)
}

// Response is a token endpoint's answer.
type Response struct {
	Status int
	// Header holds the response headers by lower-case name.
	Header map[string]string
	// Body is read at most up to the Client's MaxBody and then closed.
	Body io.ReadCloser
}

// Clock tells the time and waits; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
