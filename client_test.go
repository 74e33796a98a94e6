package tokenhelper

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var testConfig = Config{TokenURL: "https://id.example/token", ClientID: "cid", ClientSecret: testSecret}

func TestClientRetries(t *testing.T) {
	fail500 := respond(answer(500, map[string]string{"content-type": "text/html"}, "<h1>oops</h1>"))
	tests := []struct {
		name   string
		script []func(*Request) (*Response, error)
		calls  int
		sleeps []time.Duration // exact, or nil to check the backoff range
		kind   error
	}{
		{name: "500 then 200 is retried", script: []func(*Request) (*Response, error){fail500}, calls: 2},
		{name: "network errors are retried", script: []func(*Request) (*Response, error){
			func(*Request) (*Response, error) { return nil, errors.New("connection refused") },
			func(*Request) (*Response, error) { return nil, errors.New("connection reset") },
		}, calls: 3},
		{name: "429 honours Retry-After", script: []func(*Request) (*Response, error){
			respond(answer(429, map[string]string{"retry-after": "7"}, "")),
		}, calls: 2, sleeps: []time.Duration{7 * time.Second}},
		{name: "gives up after 3 attempts", script: []func(*Request) (*Response, error){fail500, fail500, fail500, fail500}, calls: 3, kind: ErrBadResponse},
		{name: "invalid_client is not retried", script: []func(*Request) (*Response, error){
			respond(jsonAnswer(401, `{"error":"invalid_client"}`)),
		}, calls: 1, kind: ErrRejected, sleeps: []time.Duration{}},
		{name: "invalid_grant is not retried", script: []func(*Request) (*Response, error){
			respond(jsonAnswer(400, `{"error":"invalid_grant"}`)),
		}, calls: 1, kind: ErrRejected, sleeps: []time.Duration{}},
		{name: "Retry-After beyond the cap is not waited for", script: []func(*Request) (*Response, error){
			respond(answer(429, map[string]string{"retry-after": "3600"}, "")),
		}, calls: 1, kind: ErrBadResponse, sleeps: []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &fakeEndpoint{script: tt.script}
			clock := newFakeClock()
			c := &Client{Transport: ep, Clock: clock}
			tok, err := c.Token(context.Background(), testConfig)
			if got := len(ep.Calls()); got != tt.calls {
				t.Errorf("got %d calls, want %d", got, tt.calls)
			}
			if tt.kind == nil && (err != nil || tok == nil) {
				t.Fatalf("got %v, want a token", err)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
			if tt.sleeps != nil {
				if len(clock.Sleeps()) != len(tt.sleeps) || (len(tt.sleeps) > 0 && clock.Sleeps()[0] != tt.sleeps[0]) {
					t.Errorf("got sleeps %v, want %v", clock.Sleeps(), tt.sleeps)
				}
				return
			}
			for i, d := range clock.Sleeps() {
				base := DefaultRetry.Base << i
				if d < base/2 || d > base {
					t.Errorf("sleep %d: got %v, want between %v and %v", i, d, base/2, base)
				}
			}
		})
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	p := RetryPolicy{Attempts: 50, Base: time.Second, Max: 8 * time.Second}
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		d := p.backoff(40)
		if d < 4*time.Second || d > 8*time.Second {
			t.Fatalf("got %v, want within [4s, 8s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays: no jitter", len(seen))
	}
}

func TestClientTimeoutWithATransportThatIgnoresContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := &Client{Timeout: 20 * time.Millisecond, Retry: RetryPolicy{Attempts: 1},
		Transport: TransportFunc(func(context.Context, *Request) (*Response, error) {
			<-block
			return nil, errors.New("late")
		})}
	start := time.Now()
	_, err := c.Token(context.Background(), testConfig)
	var e *Error
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &e) || e.Code != "timeout" || !e.Temporary() {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestClientCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Client{Transport: &fakeEndpoint{gate: make(chan struct{})}}
	_, err := c.Token(ctx, testConfig)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNetwork) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var e *Error
	if errors.As(err, &e) && e.Temporary() {
		t.Error("a canceled request is not temporary")
	}
}

func TestClientCapsTheBody(t *testing.T) {
	huge := `{"access_token":"` + strings.Repeat("a", 2<<20) + `"}`
	c := &Client{Clock: newFakeClock(), Retry: RetryPolicy{Attempts: 1},
		Transport: &fakeEndpoint{script: []func(*Request) (*Response, error){respond(jsonAnswer(200, huge))}}}
	_, err := c.Token(context.Background(), testConfig)
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Fatalf("got %v", err)
	}
}

// brokenBody fails midway, as a connection that drops does.
type brokenBody struct{ io.Reader }

func (brokenBody) Close() error { return nil }

func TestClientTruncatedBody(t *testing.T) {
	c := &Client{Clock: newFakeClock(), Retry: RetryPolicy{Attempts: 1}, Transport: TransportFunc(func(context.Context, *Request) (*Response, error) {
		return &Response{Status: 200, Body: brokenBody{io.MultiReader(strings.NewReader(`{"access_tok`), errReader{})}}, nil
	})}
	_, err := c.Token(context.Background(), testConfig)
	if !errors.Is(err, ErrNetwork) {
		t.Fatalf("got %v, want ErrNetwork", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("unexpected EOF") }

// TestErrorsNeverShowSecrets has a provider echo the secret and password
// back in every way it can; no error text may contain them.
func TestErrorsNeverShowSecrets(t *testing.T) {
	cfg := Config{TokenURL: "https://id.example/token", GrantType: "password", ClientID: "cid", ClientSecret: testSecret, Username: "u", Password: testPassword}
	req, _ := BuildRequest(cfg)
	echo := string(req.Body)
	answers := []*Response{
		jsonAnswer(400, `{"error":"invalid_grant","error_description":"bad password `+jsonEscape(testPassword)[1:]+`,"error_uri":"https://x/?s=`+testSecret+`"}`),
		answer(502, map[string]string{"content-type": "text/html"}, "<pre>"+strings.Repeat("x", 100)+echo+"</pre>"),
		answer(400, map[string]string{"content-type": "text/plain"}, echo),
		jsonAnswer(200, `{"access_token":"a","expires_in":"`+testSecret+`"}`),
	}
	for i, a := range answers {
		c := &Client{Clock: newFakeClock(), Retry: RetryPolicy{Attempts: 1}, Transport: &fakeEndpoint{script: []func(*Request) (*Response, error){respond(a)}}}
		_, err := c.Token(context.Background(), cfg)
		if err == nil {
			t.Fatalf("answer %d: no error", i)
		}
		msg := err.Error() + sprintf("%+v %#v", err, err)
		for _, s := range []string{testSecret, testPassword, "s3cr3t", "pa ss"} {
			if strings.Contains(msg, s) {
				t.Errorf("answer %d: error shows %q: %s", i, s, msg)
			}
		}
	}
	c := &Client{Retry: RetryPolicy{Attempts: 1}, Transport: TransportFunc(func(context.Context, *Request) (*Response, error) {
		return nil, errors.New("dial failed while sending " + echo)
	})}
	if _, err := c.Token(context.Background(), cfg); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("network error shows the secret: %v", err)
	}
}
