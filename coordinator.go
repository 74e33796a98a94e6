package tokenhelper

import "context"

// Coordinator makes one renewal among several holders of the same tokens
// (processes sharing a cache directory, tabs of one origin, isolates of a
// Worker), the seam through which they plug in: a file lock, the Web
// Locks API, a Durable Object.
//
// A Source calls Renew when it needs a new token, at most once at a time
// (its own single flight). renew looks in the Source's shared [Cache]
// again, renews only if the token there is not fresh (refresh token, then
// the full grant) and publishes the result to the Cache. A Coordinator
// either runs renew while holding a lock named by key, so that the first
// holder renews and the ones after it find its token in the Cache, or
// obtains the token some other way (asking the one holder that renews)
// and does not call renew at all.
type Coordinator interface {
	Renew(ctx context.Context, key string, renew func(context.Context) (*Token, error)) (*Token, error)
}

// CoordinatorFunc adapts a function to a Coordinator.
type CoordinatorFunc func(ctx context.Context, key string, renew func(context.Context) (*Token, error)) (*Token, error)

// Renew calls f.
func (f CoordinatorFunc) Renew(ctx context.Context, key string, renew func(context.Context) (*Token, error)) (*Token, error) {
	return f(ctx, key, renew)
}

// LockCoordinator is a Coordinator over a lock that all holders of a key
// share (the Web Locks API in a browser, a file lock between processes):
// Renew takes the lock named key, runs renew (which looks in the shared
// Cache again first) and releases the lock. A lock that cannot be taken
// (ctx ended first) is Renew's error.
type LockCoordinator func(ctx context.Context, key string) (unlock func(), err error)

// Renew runs renew while holding the lock named key.
func (l LockCoordinator) Renew(ctx context.Context, key string, renew func(context.Context) (*Token, error)) (*Token, error) {
	unlock, err := l(ctx, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx.Err())
		}
		return nil, err
	}
	defer unlock()
	return renew(ctx)
}
