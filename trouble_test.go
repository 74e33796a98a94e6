package tokenhelper

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// down answers every call with the same failure.
func down(status int, body string, header ...string) func(*Request) (*Response, error) {
	return func(*Request) (*Response, error) {
		h := map[string]string{"content-type": "application/json"}
		for i := 0; i+1 < len(header); i += 2 {
			h[header[i]] = header[i+1]
		}
		return answer(status, h, body), nil
	}
}

// scripted is an endpoint whose answer the test switches at will.
type scripted struct {
	fakeEndpoint
	mu   sync.Mutex
	next func(*Request) (*Response, error) // nil: a fresh token
}

func (s *scripted) set(f func(*Request) (*Response, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = f
}

func (s *scripted) RoundTrip(ctx context.Context, r *Request) (*Response, error) {
	s.mu.Lock()
	f := s.next
	s.mu.Unlock()
	if f != nil {
		s.fakeEndpoint.mu.Lock()
		s.fakeEndpoint.calls = append(s.fakeEndpoint.calls, r)
		s.fakeEndpoint.mu.Unlock()
		return f(r)
	}
	return s.fakeEndpoint.RoundTrip(ctx, r)
}

// oneAttempt is a Source whose client makes one attempt per renewal, so
// that a test counts renewals as requests.
func oneAttempt(t *testing.T, ep Transport, clock *fakeClock, opts ...SourceOption) *Source {
	t.Helper()
	s, err := NewSource(&Client{Transport: ep, Clock: clock, Retry: RetryPolicy{Attempts: 1}}, testConfig, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Inside the margin, an outage costs no caller anything: the held token is
// served until it expires, renewals are tried once per backoff window, and
// the first good answer after the outage is used.
func TestSourceServesHeldTokenThroughOutage(t *testing.T) {
	ep := &scripted{}
	clock := newFakeClock()
	s := oneAttempt(t, ep, clock)
	first, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ep.set(down(503, `{"error":"temporarily_unavailable"}`))
	clock.Advance(first.Lifetime() - 50*time.Second) // 10 s into the 60 s margin
	for i := 0; i < 20; i++ {                        // 20 s of calls, 10 a second
		for j := 0; j < 10; j++ {
			tok, err := s.Token(context.Background())
			if err != nil || tok != first {
				t.Fatalf("at %v: got %v, %v; want the held token", clock.Now().Sub(testNow), tok, err)
			}
		}
		settle(t, s)
		clock.Advance(time.Second)
	}
	// Backoff 1, 2, 4, 8 s: renewals at 0, 1, 3, 7 and 15 s.
	if n := len(ep.Calls()); n != 1+5 {
		t.Errorf("provider requests during 20 s of outage: got %d, want 5", n-1)
	}
	ep.set(nil)
	clock.Advance(12 * time.Second) // 32 s in: still valid, and the window after 15 s (16 s) is over
	if tok, _ := s.Token(context.Background()); tok != first {
		t.Fatalf("got %v, want the held token while the renewal runs", tok)
	}
	settle(t, s)
	if tok, err := s.Token(context.Background()); err != nil || tok == first {
		t.Fatalf("after the outage: got %v, %v; want the new token", tok, err)
	}
}

// Without a valid token, a failure backs off: calls inside the window fail
// at once with the failure they repeat and send nothing; the window
// doubles to 30 s; success resets it.
func TestSourceBackoffGrowsAndResets(t *testing.T) {
	ep := &scripted{}
	ep.set(down(500, `{"error":"server_error"}`))
	clock := newFakeClock()
	s := oneAttempt(t, ep, clock)
	var windows []time.Duration
	for i := 0; i < 7; i++ {
		before := len(ep.Calls())
		_, err := s.Token(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.Code != "server_error" || e.Repeated {
			t.Fatalf("attempt %d: got %v, want the provider's server_error", i, err)
		}
		if len(ep.Calls()) != before+1 {
			t.Fatalf("attempt %d: %d requests, want 1", i, len(ep.Calls())-before)
		}
		_, err = s.Token(context.Background())
		if !errors.As(err, &e) || !e.Repeated || e.Code != "server_error" || e.Status != 500 || e.RetryAfter <= 0 {
			t.Fatalf("inside the window: got %#v, want a repeated server_error with the time to the next attempt", err)
		}
		if len(ep.Calls()) != before+1 {
			t.Fatal("a call inside the window sent a request")
		}
		windows = append(windows, e.RetryAfter)
		clock.Advance(e.RetryAfter)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if windows[i] != want[i]*time.Second {
			t.Fatalf("windows: got %v, want %v seconds", windows, want)
		}
	}
	ep.set(nil)
	if _, err := s.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.fail != nil {
		t.Error("a success did not reset the backoff")
	}
}

// A provider's Retry-After longer than the doubling is honoured, up to
// 5 minutes; an RFC 6749 refusal backs off too, and is repeated as itself.
func TestSourceBackoffRetryAfterAndRefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(*Request) (*Response, error)
		code   string
		window time.Duration
	}{
		{"Retry-After 90 s", down(429, `{"error":"slow_down"}`, "retry-after", "90"), "slow_down", 90 * time.Second},
		{"Retry-After 1 h capped", down(503, `{}`, "retry-after", "3600"), CodeBadResponse, BackoffRetryAfterMax},
		{"invalid_client", down(401, `{"error":"invalid_client"}`), "invalid_client", time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep := &scripted{}
			ep.set(tt.answer)
			s := oneAttempt(t, ep, newFakeClock())
			s.Token(context.Background())
			_, err := s.Token(context.Background())
			var e *Error
			if !errors.As(err, &e) || !e.Repeated || e.Code != tt.code || e.RetryAfter != tt.window {
				t.Fatalf("got %v, want %s repeated, next attempt in %v", err, tt.code, tt.window)
			}
			if n := len(ep.Calls()); n != 1 {
				t.Errorf("got %d requests, want 1", n)
			}
		})
	}
}

// Callers that arrive while a background renewal runs get the held token
// at once; one request serves them all; a caller that joins it once the
// token has expired and then gives up does not cancel it.
func TestSourceBackgroundRenewalSingleFlight(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	s := oneAttempt(t, ep, clock)
	first, _ := s.Token(context.Background())
	gate := make(chan struct{})
	ep.mu.Lock()
	ep.gate = gate
	ep.mu.Unlock()
	clock.Advance(first.Lifetime() - 30*time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := s.Token(context.Background()); err != nil || tok != first {
				t.Errorf("got %v, %v; want the held token at once", tok, err)
			}
		}()
	}
	wg.Wait()                  // none waited for the gated request
	clock.Advance(time.Minute) // expired: a caller now waits, and gives up
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Token(ctx); done <- err }()
	waitForWaiters(t, s, 1)
	cancel()
	if err := <-done; !errors.Is(err, ErrNetwork) {
		t.Fatalf("canceled caller: got %v", err)
	}
	close(gate)
	settle(t, s)
	if n := len(ep.Calls()); n != 2 {
		t.Fatalf("got %d requests, want 2 (the first token, one renewal)", n)
	}
	if tok, err := s.Token(context.Background()); err != nil || tok.AccessToken != "tok-2" {
		t.Fatalf("got %v, %v; want the renewal's token, not canceled", tok, err)
	}
}

// lockCoordinator is a lock shared by the Sources of several "processes".
type lockCoordinator struct{ mu sync.Mutex }

func (c *lockCoordinator) Renew(ctx context.Context, _ string, renew func(context.Context) (*Token, error)) (*Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return renew(ctx)
}

// Holders sharing a cache and a Coordinator make one request among them:
// lock, look in the cache again, renew only if still needed, publish.
func TestSourceCoordinatorOneRenewalAmongHolders(t *testing.T) {
	ep := &fakeEndpoint{gate: make(chan struct{})}
	clock := newFakeClock()
	cache := &MemoryCache{Now: clock.Now}
	coord := &lockCoordinator{}
	var holders []*Source
	for i := 0; i < 5; i++ {
		holders = append(holders, oneAttempt(t, ep, clock, WithCache(cache), WithCoordinator(coord)))
	}
	var wg sync.WaitGroup
	toks := make([]*Token, len(holders))
	for i, h := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _ = h.Token(context.Background())
		}()
	}
	for _, h := range holders {
		waitForWaiters(t, h, 1)
	}
	close(ep.gate)
	wg.Wait()
	if n := len(ep.Calls()); n != 1 {
		t.Fatalf("5 holders made %d requests, want 1", n)
	}
	for i, tok := range toks {
		if tok == nil || tok.AccessToken != toks[0].AccessToken {
			t.Fatalf("holder %d got %v", i, tok)
		}
	}
}

// A fresh holder (a new process or isolate) that finds another holder's
// token in the shared cache, stale but valid, and cannot renew it, serves
// that token until it expires, and backs off.
func TestSourceFreshHolderServesStaleSharedToken(t *testing.T) {
	clock := newFakeClock()
	cache := &MemoryCache{Now: clock.Now}
	stale := &Token{AccessToken: "shared", TokenType: "Bearer", Obtained: clock.Now().Add(-3590 * time.Second), Expiry: clock.Now().Add(10 * time.Second)}
	ep := &scripted{}
	ep.set(down(503, `{"error":"temporarily_unavailable"}`))
	s := oneAttempt(t, ep, clock, WithCache(cache))
	cache.Put(context.Background(), s.Key(), stale, stale.Expiry)
	for i := 0; i < 5; i++ {
		tok, err := s.Token(context.Background())
		if err != nil || tok.AccessToken != "shared" {
			t.Fatalf("call %d: got %v, %v; want the shared token while it is valid", i, tok, err)
		}
		settle(t, s)
	}
	if n := len(ep.Calls()); n != 1 {
		t.Errorf("got %d provider requests, want 1 (then the backoff)", n)
	}
	clock.Advance(11 * time.Second)
	if _, err := s.Token(context.Background()); err == nil {
		t.Error("after the shared token expired: got a token, want the provider's failure")
	}
}
