package demoprovider

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"
)

// maxLog bounds the request log; older entries are dropped (Count keeps
// counting).
const maxLog = 10000

// Redaction markers used in Received.Fields.
const (
	RedactedOK    = "<redacted:ok>"    // the secret was the right one
	RedactedWrong = "<redacted:wrong>" // the secret was wrong, unknown or malformed
	Redacted      = "<redacted>"       // some other value contained a secret
)

// Received is the log entry of one token request.
type Received struct {
	// Profile is the profile id of the endpoint.
	Profile string `json:"profile"`
	// Method and Path of the request.
	Method string `json:"method"`
	Path   string `json:"path"`
	// ContentType is the media type of the request, lowercased, without
	// parameters ("multipart/form-data").
	ContentType string `json:"content_type"`
	// Fields holds every body parameter the server parsed, whatever the
	// media type (JSON members that are not strings as their JSON text),
	// with client_secret, password and refresh_token replaced by
	// RedactedOK or RedactedWrong, and any other value containing the
	// configured client secret or password replaced by Redacted.
	Fields map[string]string `json:"fields"`
	// BasicAuth reports whether the request carried HTTP Basic credentials.
	BasicAuth bool `json:"basic_auth"`
	// Status is the HTTP status answered, 0 while in flight or when no
	// answer was sent (drop fault, client gone during a slow fault).
	Status int `json:"status"`
	// Error is the RFC 6749 error code answered, if any ("client_gone"
	// when the client left during a slow fault).
	Error string `json:"error"`
	// Fault is the kind of the injected fault that served the request.
	Fault string `json:"fault,omitempty"`
}

// begin logs a request as it arrives and counts it.
func (s *Server) begin(rec Received) *Received {
	e := &rec
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	s.log = append(s.log, e)
	if len(s.log) > maxLog {
		s.log = append([]*Received(nil), s.log[len(s.log)-maxLog:]...)
	}
	return e
}

func (s *Server) setFields(e *Received, fields map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Fields = fields
}

// finish records the outcome of a request and reports it to OnRequest.
func (s *Server) finish(e *Received, out outcome) {
	s.mu.Lock()
	e.Status, e.Error, e.Fault = out.status, out.err, out.fault
	rec := e.clone()
	s.mu.Unlock()
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(rec)
	}
}

func (r *Received) clone() Received {
	c := *r
	c.Fields = maps.Clone(r.Fields)
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	return c
}

// Requests returns every token request received so far, in order of
// arrival (the last 10000 at most).
func (s *Server) Requests() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.log))
	for i, e := range s.log {
		out[i] = e.clone()
	}
	return out
}

// Count returns the number of token requests received, including rejected
// and faulted ones, but not CORS preflights.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Reset clears the count, the request log and the queued faults. Issued
// refresh tokens and the signing key stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count, s.log, s.faults = 0, nil, nil
}

// redact returns the parsed fields with every secret replaced.
func (s *Server) redact(p *profile, ps *params) map[string]string {
	out := make(map[string]string, len(ps.values))
	for name, v := range ps.values {
		if s.holdsSecret(name) {
			name = Redacted
		}
		switch {
		case name == "client_secret":
			out[name] = verdict(!ps.nonString[name] && equal(v, s.opts.ClientSecret))
		case name == "password":
			out[name] = verdict(!ps.nonString[name] && equal(v, s.opts.Password))
		case name == "refresh_token":
			_, live := s.refresh.lookup(v, p)
			out[name] = verdict(!ps.nonString[name] && live)
		case s.holdsSecret(v):
			out[name] = Redacted
		default:
			out[name] = v
		}
	}
	return out
}

// holdsSecret reports whether v contains the client secret or password.
func (s *Server) holdsSecret(v string) bool {
	return strings.Contains(v, s.opts.ClientSecret) || strings.Contains(v, s.opts.Password)
}

// scrub returns v, or Redacted when v contains a secret.
func (s *Server) scrub(v string) string {
	if s.holdsSecret(v) {
		return Redacted
	}
	return v
}

func verdict(ok bool) string {
	if ok {
		return RedactedOK
	}
	return RedactedWrong
}

// statsBody is the answer of GET /_demo/stats.
type statsBody struct {
	Count    int        `json:"count"`
	Requests []Received `json:"requests"`
}

func (s *Server) serveStats(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	s.mu.Lock()
	count := s.count
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, statsBody{Count: count, Requests: s.Requests()})
}

// faultBody is the JSON accepted by POST /_demo/fault. delay is a Go
// duration string ("1.5s"); delay_ms is the same in milliseconds.
type faultBody struct {
	Kind       string `json:"kind"`
	Times      int    `json:"times"`
	Status     int    `json:"status"`
	RetryAfter int    `json:"retry_after"`
	Delay      string `json:"delay"`
	DelayMS    int64  `json:"delay_ms"`
}

func (s *Server) serveFaultControl(w http.ResponseWriter, r *http.Request) {
	body, oe := readBody(w, r)
	if oe != nil {
		oe.write(w)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var fb faultBody
	if err := dec.Decode(&fb); err != nil || dec.More() {
		invalidRequest(`body must be one JSON object like {"kind":"status","status":503,"times":1,"retry_after":2,"delay":"1s"}`).write(w)
		return
	}
	f := Fault{Kind: fb.Kind, Times: fb.Times, Status: fb.Status, RetryAfter: fb.RetryAfter,
		Delay: time.Duration(fb.DelayMS) * time.Millisecond}
	if fb.Delay != "" {
		d, err := time.ParseDuration(fb.Delay)
		if err != nil {
			invalidRequest(`delay must be a Go duration such as "1.5s"`).write(w)
			return
		}
		f.Delay = d
	}
	nf, err := f.normalize()
	if err != nil {
		invalidRequest("invalid fault: " + err.Error()).write(w)
		return
	}
	_ = s.Fail(nf)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "kind": nf.Kind, "times": nf.Times, "status": nf.Status,
		"retry_after": nf.RetryAfter, "delay_ms": nf.Delay.Milliseconds(),
	})
}
