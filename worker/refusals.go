package worker

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Refusal reasons, as logged and shown in the status.
const (
	RefuseOrigin       = "origin_not_allowed" // /token or /api/ from an origin not in ALLOWED_ORIGINS
	RefuseRateLimited  = "rate_limited"       // POST /token over the RATE_LIMITER's limit
	RefuseCaller       = "caller"             // the caller gate refused the caller's JWT (Code says why)
	RefuseInvalidToken = "invalid_token"      // /api/ without a token this route minted for this origin
	RefuseExpiredToken = "expired_token"      // /api/ with a minted token past its exp
	RefusePath         = "path_refused"       // /api/ path that would leave the upstream's base path
	RefuseBodyTooLarge = "body_too_large"     // /api/ body over MAX_REQUEST_BODY
	RefuseStatus       = "status_unauthorized"
)

// VarRefusalLogPeriod is how often, in seconds, a route logs the count of
// one refusal reason (default 60). A test may shorten it.
const VarRefusalLogPeriod = "REFUSAL_LOG_PERIOD"

// DefaultRefusalLogPeriod is the default of REFUSAL_LOG_PERIOD.
const DefaultRefusalLogPeriod = time.Minute

// refusals counts a route's refusals by reason and logs them in summary:
// the first of a reason at once, then at most one line per reason per
// period with the count since the last line, so that an attacker sending
// a million forged tokens costs the log (and its bill) a line a minute.
// Counts still pending when a period ends are logged with the next
// refusal or the next request of the route, whichever comes first
// (workerd runs no timer between requests).
type refusals struct {
	mu     sync.Mutex
	m      map[string]*refusalCount
	period time.Duration
	due    atomic.Int64 // unix ns when some pending count is due; 0: none
}

type refusalCount struct {
	pending int       // since the last line
	total   int       // since the isolate started
	logged  time.Time // last line
}

// refuse counts one refusal of reason on h's route.
func (h *Handler) refuse(reason string) {
	now := h.now()
	rf := &h.refused
	rf.mu.Lock()
	if rf.m == nil {
		rf.m = map[string]*refusalCount{}
		rf.period = h.refusalPeriod()
	}
	c := rf.m[reason]
	if c == nil {
		c = &refusalCount{}
		rf.m[reason] = c
	}
	c.pending++
	c.total++
	var lines []Event
	if c.logged.IsZero() || now.Sub(c.logged) >= rf.period {
		lines = rf.takeLocked(now, reason)
	} else if rf.due.Load() == 0 {
		rf.due.Store(c.logged.Add(rf.period).UnixNano())
	}
	rf.mu.Unlock()
	h.logRefusals(lines)
}

// flushRefusals logs the counts whose period is over; on the path of
// every request it is one atomic load while nothing is due.
func (h *Handler) flushRefusals() {
	due := h.refused.due.Load()
	if due == 0 {
		return
	}
	now := h.now()
	if now.UnixNano() < due {
		return
	}
	rf := &h.refused
	rf.mu.Lock()
	lines := rf.takeLocked(now, "")
	rf.mu.Unlock()
	h.logRefusals(lines)
}

// takeLocked returns the lines due at now (only reason's when not
// empty, which is then due), resets their counts, and sets due to the
// next pending count's time.
func (rf *refusals) takeLocked(now time.Time, reason string) []Event {
	var lines []Event
	next := int64(0)
	for r, c := range rf.m {
		if c.pending == 0 {
			continue
		}
		if r == reason || reason == "" && now.Sub(c.logged) >= rf.period {
			e := Event{Level: LevelWarn, Event: EventRefusals, Reason: r, Count: c.pending}
			if !c.logged.IsZero() {
				e.WindowS = seconds(now.Sub(c.logged))
			}
			lines = append(lines, e)
			c.pending, c.logged = 0, now
			continue
		}
		if d := c.logged.Add(rf.period).UnixNano(); next == 0 || d < next {
			next = d
		}
	}
	rf.due.Store(next)
	return lines
}

func (h *Handler) logRefusals(lines []Event) {
	l := h.logger()
	for _, e := range lines {
		l.log(e)
	}
}

// refusalTotals is every reason's count since the isolate started.
func (h *Handler) refusalTotals() map[string]int {
	rf := &h.refused
	rf.mu.Lock()
	defer rf.mu.Unlock()
	out := map[string]int{}
	for r, c := range rf.m {
		out[r] = c.total
	}
	return out
}

// refusalPeriod reads REFUSAL_LOG_PERIOD (whole seconds, 1 to 3600).
func (h *Handler) refusalPeriod() time.Duration {
	if h.Getenv == nil {
		return DefaultRefusalLogPeriod
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.getenv(VarRefusalLogPeriod))); err == nil && n >= 1 && n <= 3600 {
		return time.Duration(n) * time.Second
	}
	return DefaultRefusalLogPeriod
}

// logMisconfigured logs a bad setting, naming the variable, never its
// value (a ConfigError's text never holds it).
func (h *Handler) logMisconfigured(err error) {
	if h.quiet {
		return
	}
	e := Event{Level: LevelError, Event: EventMisconfigured, Msg: "the route answers 500 misconfigured until the setting is fixed"}
	var ce *ConfigError
	if errors.As(err, &ce) {
		e.Var = ce.Var
		e.Msg = ce.Var + " " + ce.Description + "; " + e.Msg
	}
	h.logger().log(e)
}
