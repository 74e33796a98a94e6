package tokenhelper

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/tokenhelper/tokenhelper/internal/fakeclock"
)

// fakeClock is the tests' clock: Sleep advances it at once.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(testNow) }

// fakeEndpoint is a scripted token endpoint behind a Transport. It records
// every request; answers come from script (by call number, from 1) or, past
// its end, a fresh token.
type fakeEndpoint struct {
	mu     sync.Mutex
	calls  []*Request
	script []func(*Request) (*Response, error)
	gate   chan struct{} // when set, every call waits for it to close
}

func (f *fakeEndpoint) RoundTrip(ctx context.Context, r *Request) (*Response, error) {
	f.mu.Lock()
	f.calls = append(f.calls, r)
	n := len(f.calls)
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if n <= len(f.script) && f.script[n-1] != nil {
		return f.script[n-1](r)
	}
	return jsonAnswer(200, `{"access_token":"tok-`+strconv.Itoa(n)+`","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-`+strconv.Itoa(n)+`"}`), nil
}

func (f *fakeEndpoint) Calls() []*Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Request(nil), f.calls...)
}

// field returns a body field of a recorded form-encoded request.
func field(r *Request, name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func answer(status int, header map[string]string, body string) *Response {
	return &Response{Status: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func jsonAnswer(status int, body string) *Response {
	return answer(status, map[string]string{"content-type": "application/json"}, body)
}

func respond(r *Response) func(*Request) (*Response, error) {
	return func(*Request) (*Response, error) { return r, nil }
}
