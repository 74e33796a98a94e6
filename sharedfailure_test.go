package tokenhelper

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// failureCache is a MemoryCache that shares failures too, as the browser
// module's cache shares them between tabs.
type failureCache struct {
	MemoryCache
	mu sync.Mutex
	f  map[string]Failure
}

func (c *failureCache) PutFailure(_ context.Context, key string, f Failure) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		c.f = map[string]Failure{}
	}
	c.f[key] = f
	return nil
}

func (c *failureCache) GetFailure(_ context.Context, key string) (*Failure, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.f[key]; ok {
		return &f, nil
	}
	return nil, nil
}

// A failure of one holder is shared: the next holder backs off without a
// request until the window ends, then asks once.
func TestSourceSharesFailures(t *testing.T) {
	ep := &scripted{}
	ep.set(down(503, `{"error":"temporarily_unavailable"}`, "retry-after", "7"))
	clock := newFakeClock()
	cache := &failureCache{MemoryCache: MemoryCache{Now: clock.Now}}
	var mu sync.Mutex
	coord := LockCoordinator(func(ctx context.Context, key string) (func(), error) {
		mu.Lock()
		return mu.Unlock, nil
	})
	a := oneAttempt(t, ep, clock, WithCache(cache), WithCoordinator(coord))
	b := oneAttempt(t, ep, clock, WithCache(cache), WithCoordinator(coord))
	if _, err := a.Token(context.Background()); err == nil {
		t.Fatal("a: no error from a provider that is down")
	}
	f, _ := cache.GetFailure(context.Background(), a.Key())
	if f == nil || f.Code != "temporarily_unavailable" || f.Status != 503 || f.Until.Sub(clock.Now()) != 7*time.Second {
		t.Fatalf("shared failure = %+v, want temporarily_unavailable 503 for 7 s", f)
	}
	_, err := b.Token(context.Background())
	var e *Error
	if !errors.As(err, &e) || !e.Repeated || e.Code != "temporarily_unavailable" || e.Status != 503 || !errors.Is(err, ErrRejected) {
		t.Fatalf("b: got %v, want the shared failure repeated", err)
	}
	if n := len(ep.Calls()); n != 1 {
		t.Fatalf("got %d requests, want 1 (b backs off with a)", n)
	}
	clock.Advance(8 * time.Second)
	ep.set(nil)
	if tok, err := b.Token(context.Background()); err != nil || tok.AccessToken == "" {
		t.Fatalf("b after the window: %v, %v", tok, err)
	}
	if n := len(ep.Calls()); n != 2 {
		t.Fatalf("got %d requests, want 2", n)
	}
}

// A lock that cannot be taken before the caller gives up is the caller's
// error, and renew is not run.
func TestLockCoordinatorCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	coord := LockCoordinator(func(ctx context.Context, key string) (func(), error) {
		cancel()
		<-ctx.Done()
		return nil, errors.New("AbortError: aborted")
	})
	_, err := coord.Renew(ctx, "k", func(context.Context) (*Token, error) {
		t.Fatal("renew ran without the lock")
		return nil, nil
	})
	if !errors.Is(err, ErrNetwork) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a network error caused by context.Canceled", err)
	}
}
