package tokenhelper

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func newTestSource(t *testing.T, ep *fakeEndpoint, clock *fakeClock, opts ...SourceOption) *Source {
	t.Helper()
	s, err := NewSource(&Client{Transport: ep, Clock: clock}, testConfig, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// settle waits until no request is in flight (a background renewal ended).
func settle(t *testing.T, s *Source) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		idle := s.call == nil
		s.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the renewal never ended")
}

// waitForWaiters blocks until n callers wait on the request in flight.
func waitForWaiters(t *testing.T, s *Source, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		got := 0
		if s.call != nil {
			got = s.call.waiters
		}
		s.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d callers never waited together", n)
}

func TestSourceSingleFlightAndReuse(t *testing.T) {
	ep := &fakeEndpoint{gate: make(chan struct{})}
	clock := newFakeClock()
	s := newTestSource(t, ep, clock)

	var wg sync.WaitGroup
	toks := make([]*Token, 100)
	errs := make([]error, 100)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = s.Token(context.Background())
		}()
	}
	waitForWaiters(t, s, 100)
	close(ep.gate)
	wg.Wait()
	if got := len(ep.Calls()); got != 1 {
		t.Fatalf("100 concurrent callers made %d requests, want 1", got)
	}
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: got %v, %v", i, toks[i], errs[i])
		}
	}

	// 3600 s lifetime: the margin is min(60 s, 360 s) = 60 s.
	clock.Advance(3600*time.Second - 61*time.Second)
	if tok, _ := s.Token(context.Background()); tok != toks[0] || len(ep.Calls()) != 1 {
		t.Fatalf("before the margin: got %v after %d requests, want the cached token after 1", tok, len(ep.Calls()))
	}
	clock.Advance(2 * time.Second)
	// Inside the margin: the held token at once, renewed in the background.
	if tok, err := s.Token(context.Background()); err != nil || tok != toks[0] {
		t.Fatalf("inside the margin: got %v, %v; want the held token at once", tok, err)
	}
	settle(t, s)
	tok, err := s.Token(context.Background())
	if err != nil || tok.AccessToken != "tok-2" {
		t.Fatalf("after the background renewal: got %v, %v", tok, err)
	}
	calls := ep.Calls()
	if len(calls) != 2 || field(calls[1], "grant_type") != "refresh_token" || field(calls[1], "refresh_token") != "rt-1" {
		t.Fatalf("renewal: got %d requests, grant %q, want 2 and a refresh_token grant with rt-1", len(calls), field(calls[len(calls)-1], "grant_type"))
	}
}

func TestSourceRefreshFallsBackToFullGrant(t *testing.T) {
	ep := &fakeEndpoint{script: []func(*Request) (*Response, error){
		nil, respond(jsonAnswer(400, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)),
	}}
	clock := newFakeClock()
	s := newTestSource(t, ep, clock)
	if _, err := s.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	tok, err := s.Token(context.Background())
	calls := ep.Calls()
	if err != nil || tok.AccessToken != "tok-3" || len(calls) != 3 {
		t.Fatalf("got %v, %v after %d requests", tok, err, len(calls))
	}
	if g := field(calls[1], "grant_type"); g != "refresh_token" {
		t.Errorf("second request: got grant %q, want refresh_token", g)
	}
	if g := field(calls[2], "grant_type"); g != "client_credentials" {
		t.Errorf("third request: got grant %q, want client_credentials", g)
	}
}

func TestSourceSharedCache(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	cache := &MemoryCache{Now: clock.Now}
	a := newTestSource(t, ep, clock, WithCache(cache))
	b := newTestSource(t, ep, clock, WithCache(cache))
	ta, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Token(context.Background())
	if err != nil || tb.AccessToken != ta.AccessToken || len(ep.Calls()) != 1 {
		t.Fatalf("second source: got %v, %v after %d requests, want the shared token after 1", tb, err, len(ep.Calls()))
	}
	// Another client ID is another cache entry.
	other := testConfig
	other.ClientID = "other"
	c, _ := NewSource(&Client{Transport: ep, Clock: clock}, other, WithCache(cache))
	if tc, _ := c.Token(context.Background()); tc.AccessToken == ta.AccessToken {
		t.Error("a different client shared the token")
	}
	// Past the margin, a source with no memory of its own uses the cached
	// refresh token (the entry lives until the token expires).
	clock.Advance(time.Hour - 30*time.Second)
	d := newTestSource(t, ep, clock, WithCache(cache))
	if _, err := d.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := ep.Calls()
	if last := calls[len(calls)-1]; field(last, "grant_type") != "refresh_token" {
		t.Errorf("got grant %q, want refresh_token from the cached entry", field(last, "grant_type"))
	}
}

func TestSourceCallerCancelDoesNotCancelOthers(t *testing.T) {
	ep := &fakeEndpoint{gate: make(chan struct{})}
	s := newTestSource(t, ep, newFakeClock())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Token(ctx); done <- err }()
	waitForWaiters(t, s, 1)
	other := make(chan error, 1)
	go func() { _, err := s.Token(context.Background()); other <- err }()
	waitForWaiters(t, s, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: got %v", err)
	}
	close(ep.gate)
	if err := <-other; err != nil {
		t.Fatalf("the other caller: got %v, want a token", err)
	}
}

func TestSourceAbandonedFlightIsCanceled(t *testing.T) {
	ep := &fakeEndpoint{gate: make(chan struct{})} // never opens
	s := newTestSource(t, ep, newFakeClock())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Token(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	// The flight sees its context canceled and ends: a new caller starts a
	// new one rather than waiting forever.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		idle := s.call == nil
		s.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned request was never canceled")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSourceInvalidate(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	cache := &MemoryCache{Now: clock.Now}
	s := newTestSource(t, ep, clock, WithCache(cache))
	t1, _ := s.Token(context.Background())
	s.Invalidate(context.Background(), t1)
	t2, _ := s.Token(context.Background())
	if t2.AccessToken == t1.AccessToken {
		t.Fatal("invalidated token handed out again")
	}
	if g := field(ep.Calls()[1], "grant_type"); g != "refresh_token" {
		t.Errorf("got grant %q, want the kept refresh token used", g)
	}
	s.Invalidate(context.Background(), t1) // late 401 for the old token
	if t3, _ := s.Token(context.Background()); t3 != t2 || len(ep.Calls()) != 2 {
		t.Errorf("a stale invalidation dropped the new token")
	}
}

// An API that answers 401 to every call (or a caller who makes it) costs
// the provider one request per InvalidateFloor, not one per 401.
func TestSourceInvalidateFloor(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	s := newTestSource(t, ep, clock)
	ctx := context.Background()
	t1, _ := s.Token(ctx)
	s.Invalidate(ctx, t1)
	t2, _ := s.Token(ctx)
	for i := 0; i < 20; i++ {
		s.Invalidate(ctx, t2)
		clock.Advance(time.Second)
	}
	if t3, _ := s.Token(ctx); t3 != t2 || len(ep.Calls()) != 2 {
		t.Fatalf("got %d provider requests and token %v, want 2 and the second token kept within the floor", len(ep.Calls()), t3)
	}
	clock.Advance(InvalidateFloor)
	s.Invalidate(ctx, t2)
	if t4, _ := s.Token(ctx); t4 == t2 || len(ep.Calls()) != 3 {
		t.Fatalf("got %d provider requests, want a third once the floor has passed", len(ep.Calls()))
	}
}

func TestSourceUnknownLifetime(t *testing.T) {
	ep := &fakeEndpoint{script: []func(*Request) (*Response, error){respond(jsonAnswer(200, `{"access_token":"opaque"}`))}}
	clock := newFakeClock()
	s := newTestSource(t, ep, clock, WithUnknownLifetime(10*time.Minute))
	tok, err := s.Token(context.Background())
	if err != nil || !tok.Expiry.Equal(testNow.Add(10*time.Minute)) {
		t.Fatalf("got %v, %v", tok, err)
	}
	clock.Advance(10*time.Minute - time.Minute)
	s.Token(context.Background())
	settle(t, s)
	if tok, _ := s.Token(context.Background()); tok.AccessToken != "tok-2" {
		t.Errorf("got %v, want a new token at the margin", tok)
	}
}

func TestDefaultMargin(t *testing.T) {
	for lifetime, want := range map[time.Duration]time.Duration{24 * time.Hour: time.Minute, 5 * time.Minute: 30 * time.Second, 0: time.Minute, 10 * time.Second: time.Second} {
		if got := DefaultMargin(lifetime); got != want {
			t.Errorf("DefaultMargin(%v) = %v, want %v", lifetime, got, want)
		}
	}
}

func TestSourceConfigError(t *testing.T) {
	if _, err := NewSource(&Client{}, Config{Provider: "aluma", ClientID: "x"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v", err)
	}
}

func TestSourceFunc(t *testing.T) {
	clock := newFakeClock()
	n := 0
	s := NewSourceFunc(&Client{Clock: clock}, "worker", func(ctx context.Context) (*Token, error) {
		n++
		return &Token{AccessToken: "w", Obtained: clock.Now(), Expiry: clock.Now().Add(5 * time.Minute)}, nil
	})
	for i := 0; i < 3; i++ {
		if tok, err := s.Token(context.Background()); err != nil || tok.AccessToken != "w" {
			t.Fatalf("got %v, %v", tok, err)
		}
	}
	clock.Advance(5*time.Minute - 29*time.Second) // margin: min(60 s, 30 s)
	s.Token(context.Background())
	settle(t, s)
	if n != 2 {
		t.Errorf("got %d fetches, want 2", n)
	}
}

func TestSourceMarginBeyondLifetimeIsClamped(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	s := newTestSource(t, ep, clock, WithRefreshMargin(2*time.Hour)) // tokens live 1 h
	s.Token(context.Background())
	clock.Advance(29 * time.Minute)
	s.Token(context.Background())
	if n := len(ep.Calls()); n != 1 {
		t.Fatalf("got %d requests within half the lifetime, want 1", n)
	}
	clock.Advance(2 * time.Minute)
	s.Token(context.Background())
	settle(t, s)
	if n := len(ep.Calls()); n != 2 {
		t.Fatalf("got %d requests past half the lifetime, want 2", n)
	}
}

func TestSourceRefreshMarginFunc(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	half := func(l time.Duration) time.Duration { return DefaultMargin(l) / 2 } // 30 s of a 1 h token
	s := newTestSource(t, ep, clock, WithRefreshMarginFunc(half))
	s.Token(context.Background())
	clock.Advance(time.Hour - 31*time.Second)
	s.Token(context.Background())
	if n := len(ep.Calls()); n != 1 {
		t.Fatalf("got %d requests 31 s before expiry, want 1", n)
	}
	clock.Advance(2 * time.Second)
	s.Token(context.Background())
	settle(t, s)
	if n := len(ep.Calls()); n != 2 {
		t.Fatalf("got %d requests 29 s before expiry, want 2", n)
	}
}

// WithCredentialID: two Sources of one Config but for the credentials
// share nothing in a Cache (the wrong secret's Source asks the provider
// and fails, the right one's token stays), and "" keeps CacheKey.
func TestSourceCredentialID(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	cache := &MemoryCache{Now: clock.Now}
	right := newTestSource(t, ep, clock, WithCache(cache), WithCredentialID("aaaa"))
	plain := newTestSource(t, ep, clock, WithCache(cache), WithCredentialID(""))
	if plain.Key() != CacheKey(testConfig) || right.Key() != CacheKey(testConfig)+"-aaaa" {
		t.Fatalf("keys: got %q and %q, want CacheKey and CacheKey-aaaa", plain.Key(), right.Key())
	}
	t1, err := right.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ep.script = append(ep.script, nil, respond(jsonAnswer(401, `{"error":"invalid_client"}`)))
	wrong := newTestSource(t, ep, clock, WithCache(cache), WithCredentialID("bbbb"))
	if tok, err := wrong.Token(context.Background()); tok != nil || err == nil || len(ep.Calls()) != 2 {
		t.Fatalf("wrong credentials: got %v, %v after %d requests, want invalid_client after 2", tok, err, len(ep.Calls()))
	}
	again := newTestSource(t, ep, clock, WithCache(cache), WithCredentialID("aaaa"))
	if t2, err := again.Token(context.Background()); err != nil || t2.AccessToken != t1.AccessToken || len(ep.Calls()) != 2 {
		t.Errorf("right credentials again: got %v, %v after %d requests, want the cached token and no request", t2, err, len(ep.Calls()))
	}
}

// The renewal that follows Invalidate carries the dropped token in its
// context (RefusedToken) for the Coordinator; the ones after it do not.
func TestSourceRefusedTokenReachesTheCoordinator(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	var seen []*Token
	coord := CoordinatorFunc(func(ctx context.Context, key string, renew func(context.Context) (*Token, error)) (*Token, error) {
		seen = append(seen, RefusedToken(ctx))
		return renew(ctx)
	})
	s := newTestSource(t, ep, clock, WithCoordinator(coord), WithRefreshMargin(time.Minute))
	ctx := context.Background()
	t1, _ := s.Token(ctx)
	s.Invalidate(ctx, t1)
	t2, _ := s.Token(ctx)
	clock.Advance(t2.Expiry.Sub(clock.Now())) // expired: a plain renewal
	s.Token(ctx)
	if len(seen) != 3 || seen[0] != nil || seen[1] == nil || seen[1].AccessToken != t1.AccessToken || seen[2] != nil {
		t.Errorf("RefusedToken in the three renewals: got %v, want nil, the first token, nil", seen)
	}
}

// keepingCache is a shared Cache whose Delete does not take effect (it
// comes late, or another holder publishes the entry again).
type keepingCache struct{ MemoryCache }

func (c *keepingCache) Delete(context.Context, string) error { return nil }

// A token an API refused never comes back from the shared Cache: the
// renewal after Invalidate asks the provider even while the Cache still
// holds the refused token.
func TestSourceInvalidatedTokenNotTakenFromTheCache(t *testing.T) {
	ep := &fakeEndpoint{}
	clock := newFakeClock()
	cache := &keepingCache{MemoryCache{Now: clock.Now}}
	s := newTestSource(t, ep, clock, WithCache(cache))
	ctx := context.Background()
	t1, _ := s.Token(ctx)
	s.Invalidate(ctx, t1)
	t2, err := s.Token(ctx)
	if err != nil || t2.AccessToken == t1.AccessToken || len(ep.Calls()) != 2 {
		t.Fatalf("got %v, %v after %d provider requests, want a new token from a second request", t2, err, len(ep.Calls()))
	}
}
