package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// observer watches a route's renewals without a hook in the core: it is
// the Source's outer Coordinator (every renewal, in the background or
// not, passes through Renew) and wraps the Source's Transport (every
// provider request of that renewal, found by the renewal's context). It
// logs one line per renewal, never per request: the cached path of a
// Source does not renew, so it logs nothing. It keeps what the route
// status shows.
type observer struct {
	inner     tokenhelper.Coordinator // the Handler's Coordinator, or nil
	transport tokenhelper.Transport   // the provider's
	store     string                  // the shared store's name ("kv", "cache_api", …), "" without one
	log       logger
	now       func() time.Time
	scrub     func(string) string

	mu       sync.Mutex
	expiry   time.Time // of the last token a renewal gave
	last     renewal   // the last renewal
	lastAt   time.Time
	failures int       // consecutive failed renewals
	until    time.Time // end of the backoff after the last failure
}

// renewal is what one renewal did, filled in through its context.
type renewal struct {
	from     string
	grant    string
	requests int
	status   int
	code     string
	renewed  bool // the Source's own path ran (not the object's token)
}

type renewalKey struct{}

// RoundTrip implements tokenhelper.Transport: the Source's client's
// requests (the provider's token endpoint only) are counted in the
// renewal they belong to.
func (o *observer) RoundTrip(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
	res, err := o.transport.RoundTrip(ctx, r)
	if rec, _ := ctx.Value(renewalKey{}).(*renewal); rec != nil {
		o.mu.Lock()
		rec.requests++
		for _, f := range r.Fields {
			if f.Name == "grant_type" && !f.Secret {
				rec.grant = f.Value
			}
		}
		rec.status = 0
		if err == nil {
			rec.status = res.Status
		}
		o.mu.Unlock()
	}
	return res, err
}

// Renew implements tokenhelper.Coordinator.
func (o *observer) Renew(ctx context.Context, key string, renew func(context.Context) (*tokenhelper.Token, error)) (*tokenhelper.Token, error) {
	rec := &renewal{}
	ctx = context.WithValue(ctx, renewalKey{}, rec)
	own := func(ctx context.Context) (*tokenhelper.Token, error) {
		o.mu.Lock()
		rec.renewed = true
		o.mu.Unlock()
		return renew(ctx)
	}
	start := o.now()
	var tok *tokenhelper.Token
	var err error
	if o.inner != nil {
		tok, err = o.inner.Renew(ctx, key, own)
	} else {
		tok, err = own(ctx)
	}
	if ctx.Err() != nil && err != nil {
		return tok, err // every caller gave up: the Source keeps no failure either
	}
	o.record(rec, start, tok, err)
	return tok, err
}

// record logs the renewal and keeps it for the status.
func (o *observer) record(rec *renewal, start time.Time, tok *tokenhelper.Token, err error) {
	now := o.now()
	o.mu.Lock()
	r := *rec
	switch {
	case !r.renewed:
		r.from = "object"
	case r.requests > 0:
		r.from = "provider"
	case o.store != "":
		r.from = o.store
	default:
		r.from = "memory"
	}
	e := Event{From: r.from, Grant: r.grant, Requests: r.requests, Status: r.status, DurationMS: now.Sub(start).Milliseconds()}
	var stale *Event
	if err == nil && tok != nil {
		o.failures, o.until, o.expiry = 0, time.Time{}, tok.Expiry
		e.Level, e.Event = LevelInfo, EventToken
		e.LifetimeS, e.ExpiresInS = seconds(tok.Lifetime()), seconds(tok.Expiry.Sub(now))
	} else {
		var te *tokenhelper.Error
		if !errors.As(err, &te) {
			te = &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork}
		}
		// The core's backoff, worked out as its Source does (it counts
		// the same consecutive failures).
		o.failures++
		window := tokenhelper.BackoffWindow(o.failures, te)
		if te.Repeated && te.RetryAfter > 0 {
			window = te.RetryAfter // another holder's backoff, as it reported it
		}
		o.until = now.Add(window)
		r.code = o.scrub(te.Code)
		if te.Status != 0 {
			r.status = te.Status
		}
		e.Level, e.Event = LevelWarn, EventRenewalFailed
		if te.Kind == tokenhelper.ErrRejected && te.Status >= 400 && te.Status < 500 && te.Status != 429 || te.Kind == tokenhelper.ErrConfig {
			e.Level = LevelError // the provider refuses this client: an operator must act
		}
		e.Code, e.Status, e.Repeated = r.code, r.status, te.Repeated
		e.BackoffS, e.BackoffUntil = seconds(window), o.until.UTC()
		if now.Before(o.expiry) {
			stale = &Event{Level: LevelWarn, Event: EventStaleToken, ExpiresInS: seconds(o.expiry.Sub(now)),
				Msg: "renewing failed: the token held serves until it expires, renewals resume after the backoff"}
		}
	}
	o.last, o.lastAt = r, now
	o.mu.Unlock()
	o.log.log(e)
	if stale != nil {
		o.log.log(*stale)
	}
}

// routeState is the observer's part of a route's status.
type routeState struct {
	held         bool
	expiresIn    time.Duration
	last         renewal
	lastAt       time.Time
	backoffUntil time.Time
}

func (o *observer) state(now time.Time) routeState {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := routeState{last: o.last, lastAt: o.lastAt}
	if now.Before(o.expiry) {
		st.held, st.expiresIn = true, o.expiry.Sub(now)
	}
	if now.Before(o.until) {
		st.backoffUntil = o.until
	}
	return st
}
