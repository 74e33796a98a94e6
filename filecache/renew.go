package filecache

import (
	"context"
	"errors"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// failure is a failed renewal as the entry keeps it: what the next
// invocations repeat during its backoff window. No description or excerpt
// is kept: they are text from outside, and the kind, code and status say
// what went wrong.
type failure struct {
	Kind    string    `json:"kind"`
	Code    string    `json:"code"`
	Status  int       `json:"status,omitempty"`
	Count   int       `json:"count"` // consecutive failures
	RetryAt time.Time `json:"retry_at"`
}

// kinds names the error kinds in the files.
var kinds = map[string]error{
	"config":       tokenhelper.ErrConfig,
	"rejected":     tokenhelper.ErrRejected,
	"network":      tokenhelper.ErrNetwork,
	"timeout":      tokenhelper.ErrTimeout,
	"bad_response": tokenhelper.ErrBadResponse,
}

func kindName(k error) string {
	for name, v := range kinds {
		if v == k {
			return name
		}
	}
	return "network"
}

// repeat is the failure given again at now, as a Source repeats one.
func (f *failure) repeat(now time.Time) *tokenhelper.Error {
	k, ok := kinds[f.Kind]
	if !ok {
		k = tokenhelper.ErrNetwork
	}
	return &tokenhelper.Error{Kind: k, Code: f.Code, Status: f.Status, Repeated: true, RetryAfter: f.RetryAt.Sub(now)}
}

// Repeated returns what Renew would answer for key without a request: the
// kept failure, repeated, while its backoff window lasts and no valid
// token is on disk; else nil. A command calls it before anything else.
func (c *Cache) Repeated(key string) *tokenhelper.Error {
	now := c.now()
	e := c.read(key)
	if e.Failure == nil || !now.Before(e.Failure.RetryAt) || e.valid(now) {
		return nil
	}
	return e.Failure.repeat(now)
}

// Renew implements [tokenhelper.Coordinator]: it runs renew under the
// lock of key (see the package doc for platforms without one), so that
// of the processes that need a token at once, the first renews and the
// others find its token when their renew looks in the Cache. During the
// backoff after a failure it answers without calling renew; when renew
// fails it keeps the failure and its window, and answers with the token
// on disk while that is still valid.
func (c *Cache) Renew(ctx context.Context, key string, renew func(context.Context) (*tokenhelper.Token, error)) (*tokenhelper.Token, error) {
	unlock, err := lock(ctx, c.path(key, ".lock"))
	switch {
	case err == nil:
		defer unlock()
	case ctx.Err() != nil:
		return nil, contextError(ctx.Err())
	default: // a cache is only a slower path, never an error
		c.logf("filecache: no lock (%v): renewing without it", err)
	}
	now := c.now()
	e := c.read(key)
	if f := e.Failure; f != nil && now.Before(f.RetryAt) {
		if e.valid(now) {
			c.logf("filecache: backing off after %s for another %s: the cached token stays in service", f.Code, f.RetryAt.Sub(now).Round(time.Millisecond))
			return e.Token, nil
		}
		return nil, f.repeat(now)
	}
	tok, err := renew(ctx)
	var te *tokenhelper.Error
	if err == nil || ctx.Err() != nil || !errors.As(err, &te) {
		return tok, err // a success (Put cleared the failure), or given up: not the provider's doing
	}
	e = c.read(key) // renew may have looked and found nothing new; keep what is there
	n := 1
	if e.Failure != nil {
		n = e.Failure.Count + 1
	}
	wait := tokenhelper.BackoffWindow(n, te)
	e.Failure = &failure{Kind: kindName(te.Kind), Code: te.Code, Status: te.Status, Count: n, RetryAt: c.now().Add(wait)}
	if werr := c.write(key, e); werr != nil {
		c.logf("filecache: the failure could not be kept: %v", werr)
	}
	if e.valid(c.now()) {
		c.logf("filecache: renewal failed (%s); the cached token stays in service, next attempt in %s", te.Code, wait)
		return e.Token, nil
	}
	return nil, err
}

// contextError is a context's end as a tokenhelper error.
func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &tokenhelper.Error{Kind: tokenhelper.ErrTimeout, Code: tokenhelper.CodeTimeout, Err: err}
	}
	return &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork, Err: err}
}
