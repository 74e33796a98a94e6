package worker

import (
	"context"
	"sync"
	"time"
)

// Limiter decides whether a client (keyed by its IP address) may make
// another token request now. In the Worker it is Cloudflare's rate
// limiting binding, shared by the isolates of a location; [MemoryLimiter]
// counts in one process only: natively it is real, but in the Worker it
// would count the requests of one isolate (its one Go instance) among the
// many Cloudflare runs, so the Worker does not use it (see README.md).
type Limiter interface {
	// Allow reports whether key may go on; when it may not, retryAfter is
	// how long to wait (0 when unknown).
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// MemoryLimiter allows Limit requests per key in each fixed window of
// Period.
type MemoryLimiter struct {
	Limit  int
	Period time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*window{}
	}
	w := l.m[key]
	if w == nil || !now.Before(w.start.Add(l.Period)) {
		if len(l.m) > 10000 { // forget everyone rather than grow without bound
			clear(l.m)
		}
		w = &window{start: now}
		l.m[key] = w
	}
	if w.n >= l.Limit {
		return false, w.start.Add(l.Period).Sub(now), nil
	}
	w.n++
	return true, 0, nil
}
