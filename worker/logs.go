package worker

import (
	"encoding/json"
	"os"
	"strings"
	"time"
)

// Log levels of [Event]: Workers Logs indexes the line's level field, and
// the sink may route warn and error to console.warn and console.error.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Event names: one JSON line each (worker/README.md, "Operating the
// worker", shows each one).
const (
	EventToken          = "token"           // a renewal gave a token (from the provider, the object or a shared cache)
	EventRenewalFailed  = "renewal_failed"  // a renewal failed; the route backs off
	EventStaleToken     = "stale_token"     // a renewal failed while a valid token is held: it serves until it expires
	EventHolderFallback = "holder_fallback" // the TOKEN_HOLDER object failed; the isolate renews on its own
	EventMisconfigured  = "misconfigured"   // a setting is invalid: the variable is named, never its value
	EventRefusals       = "refusals"        // refusals of one reason on one route, counted
)

// Event is the one shape of every line the worker logs. Its fields are
// numbers, times and names the worker chooses (a route, a grant, a
// provider's error code, a variable's name, a refusal reason), never a
// free text from a request or a setting's value: no token, secret,
// password, refresh token, header or caller JWT can reach a log line
// through it. Empty fields are left out.
type Event struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Event string    `json:"event"`
	Route string    `json:"route,omitempty"`
	// Msg says in a sentence what happened and what it means.
	Msg string `json:"msg,omitempty"`

	// From is where a renewal's token came from: "provider", "object"
	// (the TOKEN_HOLDER), or the shared store ("kv", "cache_api",
	// "storage", "memory").
	From string `json:"from,omitempty"`
	// Grant is the grant of the last provider request of a renewal
	// ("client_credentials", "password", "refresh_token").
	Grant string `json:"grant,omitempty"`
	// Requests is how many provider requests a renewal made (retries
	// included).
	Requests int `json:"requests,omitempty"`
	// Status is the provider's HTTP status of the last request (0: no
	// answer).
	Status int `json:"status,omitempty"`
	// Code is the provider's RFC 6749 error code or the core's
	// (network, timeout, bad_response).
	Code       string  `json:"code,omitempty"`
	DurationMS int64   `json:"duration_ms,omitempty"`
	LifetimeS  float64 `json:"lifetime_s,omitempty"`
	ExpiresInS float64 `json:"expires_in_s,omitempty"`
	// Repeated: the failure was given again without a request (another
	// holder's backoff).
	Repeated     bool      `json:"repeated,omitempty"`
	BackoffS     float64   `json:"backoff_s,omitempty"`
	BackoffUntil time.Time `json:"backoff_until,omitzero"`

	// Var names the invalid setting.
	Var string `json:"var,omitempty"`

	// Reason and Count: Count refusals of Reason since the last line of
	// that reason, WindowS seconds ago (0 for the first).
	Reason  string  `json:"reason,omitempty"`
	Count   int     `json:"count,omitempty"`
	WindowS float64 `json:"window_s,omitempty"`
}

// DefaultLog is the sink of a Handler or Holder without Log: the JSON line
// on standard output, which reaches console.log in workerd (Go's
// wasm_exec.js writes both output streams there). The Worker's command
// sets it to a sink that calls console.warn and console.error by level.
var DefaultLog = func(level string, line []byte) {
	os.Stdout.Write(append(line, '\n'))
}

// logger writes Events through a sink.
type logger struct {
	sink  func(level string, line []byte)
	route string
	now   func() time.Time
}

func (l logger) log(e Event) {
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	if e.Route == "" {
		e.Route = l.route
	}
	e.Code = safeName(e.Code)
	e.Grant = safeName(e.Grant)
	line, err := json.Marshal(&e)
	if err != nil {
		return
	}
	sink := l.sink
	if sink == nil {
		sink = DefaultLog
	}
	sink(e.Level, line)
}

// safeName keeps a name from outside (a provider's error code, a grant
// type) to what such names are made of, and short: a provider cannot
// write a sentence, let alone a secret it was sent, into a log line
// through its error code (RFC 6749 error codes are %x20-21 / %x23-5B /
// %x5D-7E; in practice snake_case).
func safeName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return float64(d.Milliseconds()) / 1000
}

// routeName is how a Handler names its route in lines and in the status:
// "/" for the worker's one route, else its name.
func (h *Handler) routeName() string {
	if h.Base == "" {
		return "/"
	}
	return strings.TrimPrefix(h.Base, "/")
}

func (h *Handler) logger() logger {
	return logger{sink: h.Log, route: h.routeName(), now: h.now}
}
