package demoprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault kinds.
const (
	// FaultStatus answers Status (default 500, 400-599) with an RFC 6749
	// error body: temporarily_unavailable for 429 and 503, server_error for
	// other 5xx, and the matching code for 400, 401 and 403.
	FaultStatus = "status"
	// FaultHTML answers Status (default 502, 200-599) with an HTML page.
	FaultHTML = "html"
	// FaultGarbage answers 200 application/json with bytes that are not JSON.
	FaultGarbage = "garbage"
	// FaultTruncated answers 200 with a token response cut in the middle
	// (the HTTP body is complete; the JSON in it is not).
	FaultTruncated = "truncated"
	// FaultHuge answers 200 with a HugeBodyBytes JSON object whose
	// access_token comes last, so only a client that caps what it reads
	// refuses it.
	FaultHuge = "huge"
	// FaultSlow waits Delay (default 2s), or until the client goes away,
	// then serves the request normally.
	FaultSlow = "slow"
	// FaultDrop closes the connection without answering.
	FaultDrop = "drop"
	// FaultNoAccessToken answers 200 with a token response lacking
	// access_token.
	FaultNoAccessToken = "no_access_token"
	// FaultBadExpires answers 200 with a token response whose expires_in
	// is -5.
	FaultBadExpires = "bad_expires"
)

// HugeBodyBytes is the size of the FaultHuge answer.
const HugeBodyBytes = 5 << 20

const defaultSlowDelay = 2 * time.Second

var faultKinds = []string{
	FaultStatus, FaultHTML, FaultGarbage, FaultTruncated, FaultHuge,
	FaultSlow, FaultDrop, FaultNoAccessToken, FaultBadExpires,
}

// Fault is a failure injected into the next token requests. Faults apply
// to POST requests to token endpoints only (not to preflights, rejected
// methods, oversized bodies, JWKS or the control endpoints) and are served
// before the request is validated. Queued faults apply in order.
type Fault struct {
	// Kind is one of the Fault* constants.
	Kind string
	// Times is how many token requests the fault applies to (default 1).
	Times int
	// Status is the HTTP status of the status and html kinds.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header (seconds)
	// by the status and html kinds.
	RetryAfter int
	// Delay is the wait of the slow kind.
	Delay time.Duration
}

// normalize fills defaults and validates f.
func (f Fault) normalize() (Fault, error) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Times < 0 {
		return f, errors.New("times must not be negative")
	}
	if f.RetryAfter < 0 || f.Delay < 0 {
		return f, errors.New("retry_after and delay must not be negative")
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 400 || f.Status > 599 {
			return f, errors.New("status must be between 400 and 599")
		}
	case FaultHTML:
		if f.Status == 0 {
			f.Status = http.StatusBadGateway
		}
		if f.Status < 200 || f.Status > 599 {
			return f, errors.New("status must be between 200 and 599")
		}
	case FaultSlow:
		if f.Delay == 0 {
			f.Delay = defaultSlowDelay
		}
	case FaultGarbage, FaultTruncated, FaultHuge, FaultDrop, FaultNoAccessToken, FaultBadExpires:
	default:
		return f, errors.New("kind must be one of " + strings.Join(faultKinds, ", "))
	}
	return f, nil
}

// Fail queues a fault for the next token request(s). It returns an error,
// and queues nothing, when the fault is invalid (unknown kind, status out of
// range, negative times).
func (s *Server) Fail(f Fault) error {
	f, err := f.normalize()
	if err != nil {
		return fmt.Errorf("demoprovider: invalid fault: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return nil
}

// takeFault consumes one application of the first queued fault.
func (s *Server) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults[0].Times--
	if s.faults[0].Times <= 0 {
		s.faults = s.faults[1:]
	}
	return f, true
}

// sleep waits d or until ctx ends, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveFault answers a token request with fault f (any kind but slow).
func (s *Server) serveFault(w http.ResponseWriter, p *profile, f Fault) outcome {
	out := outcome{status: http.StatusOK, fault: f.Kind}
	if f.RetryAfter > 0 && (f.Kind == FaultStatus || f.Kind == FaultHTML) {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	switch f.Kind {
	case FaultStatus:
		e := &oauthError{f.Status, statusErrorCode(f.Status), "injected fault: the provider answered " + strconv.Itoa(f.Status)}
		e.write(w)
		out.status, out.err = f.Status, e.code
	case FaultHTML:
		text := strconv.Itoa(f.Status) + " " + http.StatusText(f.Status)
		page := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
			"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
		writeBody(w, f.Status, "text/html; charset=utf-8", []byte(page))
		out.status = f.Status
	case FaultGarbage:
		writeBody(w, http.StatusOK, "application/json", []byte("\x00\xff<<this is not JSON>> {\"access_token\":"))
	case FaultTruncated:
		b, _ := json.Marshal(s.faultToken(p, s.expiresIn()))
		writeBody(w, http.StatusOK, "application/json", b[:len(b)/2])
	case FaultHuge:
		s.writeHuge(w, p)
	case FaultDrop:
		out.status = 0
		drop(w)
	case FaultNoAccessToken:
		writeJSON(w, http.StatusOK, map[string]any{"token_type": p.tokenType, "expires_in": s.expiresIn()})
	case FaultBadExpires:
		writeJSON(w, http.StatusOK, s.faultToken(p, -5))
	}
	return out
}

// statusErrorCode is the RFC 6749 error code an injected status carries.
func statusErrorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "invalid_client"
	case http.StatusForbidden:
		return "access_denied"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	}
	return "server_error"
}

// faultToken is a plausible token response, with a real signed token, for
// the faults that answer 200.
func (s *Server) faultToken(p *profile, expiresIn int64) *tokenResponse {
	g := grantInfo{profile: p, clientID: s.opts.ClientID, subject: s.opts.ClientID, audience: p.id}
	access, _, _, _ := s.mint(g, false)
	return &tokenResponse{AccessToken: access, TokenType: p.tokenType, ExpiresIn: expiresIn}
}

// writeHuge streams a HugeBodyBytes JSON object, stopping if the client
// goes away.
func (s *Server) writeHuge(w http.ResponseWriter, p *profile) {
	tail, _ := json.Marshal(s.faultToken(p, s.expiresIn()).AccessToken)
	head := `{"token_type":"` + p.tokenType + `","expires_in":` + strconv.FormatInt(s.expiresIn(), 10) + `,"padding":"`
	end := `","access_token":` + string(tail) + "}"
	pad := HugeBodyBytes - len(head) - len(end)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(HugeBodyBytes))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("x", 32<<10))
	for pad > 0 {
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		pad -= n
	}
	_, _ = w.Write([]byte(end))
}

// drop closes the connection without an answer. Where the connection
// cannot be hijacked (HTTP/2), it aborts the handler the way net/http
// documents, which resets the stream.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
