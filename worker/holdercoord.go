package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// IsolateMargin is the refresh margin of an isolate that takes its token
// from the TOKEN_HOLDER object: half of the object's (the core's
// [tokenhelper.DefaultMargin]), so that an isolate asks once the object
// has renewed, not before (30 s of a 24 h token; the object renews 60 s
// before expiry).
func IsolateMargin(lifetime time.Duration) time.Duration {
	return tokenhelper.DefaultMargin(lifetime) / 2
}

// HolderAskTimeout bounds one ask of the holder: longer than the holder's
// own worst case (3 attempts of DefaultTimeout and the backoff between
// them), so that a slow provider is not mistaken for a failed object.
const HolderAskTimeout = 3*DefaultTimeout + 5*time.Second

// HolderCoordinator is the isolate's side of the TOKEN_HOLDER Durable
// Object: a tokenhelper.Coordinator whose Renew asks the object named by
// the key (through Transport, the binding's stub fetch) for the token
// instead of renewing. A failure the object reports from the provider
// (refused, down, in backoff) is the renewal's error: the isolate backs
// off as the object does and sends no request of its own. A renewal
// that follows the isolate's Source.Invalidate (an API answered 401)
// names the refused token, so that the object drops it too, by its own
// floor, instead of handing it back. When the
// object itself fails (unreachable, an answer that is not the holder's, a
// key it does not serve), Renew falls back to renew (the isolate's own
// path: the Cache API or KV, its own flight) and says so through Log,
// at most once a minute: a token is never withheld because the object is
// down.
type HolderCoordinator struct {
	// Transport sends the ask; its URL is HolderURL and the key is in
	// HolderKeyHeader (the Worker routes it by key to the object).
	Transport tokenhelper.Transport
	// Clock defaults to tokenhelper.SystemClock.
	Clock tokenhelper.Clock
	// Log, when set, receives one JSON line (an [Event],
	// "holder_fallback", level warn) when falling back, at most one a
	// minute; nil writes it with [DefaultLog]. It never holds a token or
	// a secret.
	Log func(string)

	mu     sync.Mutex
	logged time.Time
}

func (c *HolderCoordinator) clock() tokenhelper.Clock {
	if c.Clock == nil {
		return tokenhelper.SystemClock
	}
	return c.Clock
}

// Renew implements tokenhelper.Coordinator.
func (c *HolderCoordinator) Renew(ctx context.Context, key string, renew func(context.Context) (*tokenhelper.Token, error)) (*tokenhelper.Token, error) {
	tok, err, why := c.ask(ctx, key)
	if why == "" {
		return tok, err
	}
	if ctx.Err() != nil { // every caller gave up: no fallback either
		return nil, &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork, Err: ctx.Err()}
	}
	c.logFallback(why)
	return renew(ctx)
}

func (c *HolderCoordinator) logFallback(why string) {
	now := c.clock().Now()
	c.mu.Lock()
	quiet := !c.logged.IsZero() && now.Sub(c.logged) < time.Minute
	if !quiet {
		c.logged = now
	}
	c.mu.Unlock()
	if quiet {
		return
	}
	sink := func(level string, line []byte) { c.Log(string(line)) }
	if c.Log == nil {
		sink = nil // DefaultLog
	}
	logger{sink: sink, now: c.clock().Now}.log(Event{Level: LevelWarn, Event: EventHolderFallback,
		Msg: "tokenhelper: the TOKEN_HOLDER object failed (" + why + "); this isolate renews on its own"})
}

// ask asks the holder. why is empty when the holder answered (with a
// token, or with the provider's failure), else why the object failed.
func (c *HolderCoordinator) ask(ctx context.Context, key string) (tok *tokenhelper.Token, err error, why string) {
	actx, cancel := context.WithTimeout(ctx, HolderAskTimeout)
	defer cancel()
	hdr := map[string]string{HolderKeyHeader: key}
	if t := tokenhelper.RefusedToken(ctx); t != nil {
		hdr[HolderRefusedHeader] = TokenID(t)
	}
	res, err := c.Transport.RoundTrip(actx, &tokenhelper.Request{Method: http.MethodPost, URL: HolderURL, Header: hdr})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, "no answer in time"
		}
		return nil, nil, "the stub fetch failed"
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, nil, "its answer could not be read"
	}
	switch res.Status {
	case http.StatusOK:
		var t holderToken
		if json.Unmarshal(body, &t) != nil || t.AccessToken == "" || t.Expiry.IsZero() {
			return nil, nil, "its answer holds no token"
		}
		return &tokenhelper.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Scope: t.Scope,
			Expiry: t.Expiry, Obtained: t.Obtained}, nil, ""
	case http.StatusFailedDependency:
		var f holderFailure
		if json.Unmarshal(body, &f) != nil || f.Code == "" {
			return nil, nil, "its failure could not be read"
		}
		return nil, &tokenhelper.Error{Kind: kindByName(f.Kind), Code: f.Code, Status: f.Status, Description: f.Description,
			RetryAfter: time.Duration(f.RetryAfterMS) * time.Millisecond, Repeated: f.Repeated}, ""
	case http.StatusConflict:
		return nil, nil, "it serves another configuration"
	}
	return nil, nil, "HTTP " + http.StatusText(res.Status)
}
