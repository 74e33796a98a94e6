// Package soak runs a fault soak: a token provider that switches, on a
// schedule, between healthy, refusing connections, answering 503,
// answering 429 with Retry-After and answering slowly, while clients keep
// asking for tokens (through the core's Source, or a worker in workerd).
// It counts what the issue about provider trouble measures: calls served,
// failures while a valid token existed (the goal: none), failures without
// one, provider requests per phase, and the time to recover after each.
//
// ./build.sh bench runs the full soak (bench/cmd/soak: 3 minutes, tokens
// of 60 s); the tests run a short one.
package soak

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Mode is what the provider does during a phase.
type Mode string

// The provider's modes.
const (
	Healthy Mode = "healthy"
	Refuse  Mode = "refusing connections"
	Fail503 Mode = "503"
	Limit   Mode = "429 Retry-After"
	Slow    Mode = "slow"
)

// Phase is one step of the schedule.
type Phase struct {
	Mode Mode
	For  time.Duration
}

// Provider fronts a real token endpoint (the demo provider) on one fixed
// loopback address and misbehaves as its Mode says.
type Provider struct {
	// Addr is host:port; URL is http://Addr.
	Addr, URL string
	// RetryAfter is sent with 429 answers; SlowBy delays slow answers.
	RetryAfter, SlowBy time.Duration

	next http.Handler
	mu   sync.Mutex
	mode Mode
	srv  *http.Server
	// counts: requests that reached the provider, and those it answered
	// 200, per phase index.
	phase    int
	requests map[int]int
	served   map[int]int
}

// NewProvider starts a Provider in front of next on a free loopback port.
func NewProvider(next http.Handler) (*Provider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Provider{Addr: l.Addr().String(), next: next, mode: Healthy, RetryAfter: 10 * time.Second, SlowBy: 5 * time.Second,
		requests: map[int]int{}, served: map[int]int{}}
	p.URL = "http://" + p.Addr
	p.serve(l)
	return p, nil
}

func (p *Provider) serve(l net.Listener) {
	p.srv = &http.Server{Handler: http.HandlerFunc(p.handle), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(l)
}

// Set switches to mode for phase number i. Refuse closes the listener (and
// every open connection), so that connections are refused; leaving it
// listens again on the same address.
func (p *Provider) Set(i int, m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.mode
	p.mode, p.phase = m, i
	switch {
	case m == Refuse && was != Refuse:
		return p.srv.Close()
	case m != Refuse && was == Refuse:
		var l net.Listener
		var err error
		for range 50 { // the port may linger a moment after Close
			if l, err = net.Listen("tcp", p.Addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		p.serve(l)
	}
	return nil
}

// Close stops the provider.
func (p *Provider) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.srv.Close()
}

func (p *Provider) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	mode, phase := p.mode, p.phase
	p.requests[phase]++
	p.mu.Unlock()
	switch mode {
	case Fail503:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"temporarily_unavailable"}`))
		return
	case Limit:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter/time.Second)))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"slow_down"}`))
		return
	case Slow:
		select {
		case <-time.After(p.SlowBy):
		case <-r.Context().Done():
			return
		}
	}
	rec := &statusWriter{ResponseWriter: w}
	p.next.ServeHTTP(rec, r)
	if rec.status == 0 || rec.status == http.StatusOK {
		p.mu.Lock()
		p.served[phase]++
		p.mu.Unlock()
	}
}

// counts returns the requests and 200 answers of phase i.
func (p *Provider) counts(i int) (requests, served int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[i], p.served[i]
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}
