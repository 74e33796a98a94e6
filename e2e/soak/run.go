package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// Call asks the target once for a token and returns when it expires.
type Call func(ctx context.Context) (expires time.Time, err error)

// Config is one soak run.
type Config struct {
	Schedule []Phase
	// Clients call concurrently, each after the other's answer plus Pause.
	Clients int
	Pause   time.Duration
	// CallTimeout bounds one call.
	CallTimeout time.Duration
}

// PhaseResult is what happened during one phase.
type PhaseResult struct {
	Mode Mode `json:"mode"`
	// Seconds is the phase's length.
	Seconds float64 `json:"seconds"`
	// Requests reached the provider (none can while it refuses
	// connections); Served are those it answered 200.
	Requests int `json:"provider_requests"`
	Served   int `json:"provider_served"`
	// RecoveryMS, for a fault phase that ended with calls failing, is the
	// time from its end to the first call served after it; -1 when there
	// was nothing to recover from (the last call before its end was
	// served).
	RecoveryMS float64 `json:"recovery_ms"`
}

// Result is one soak run of one target.
type Result struct {
	Target string `json:"target"`
	Calls  int    `json:"calls"`
	Served int    `json:"served"`
	// FailedValid counts failed calls made while a token obtained earlier
	// was still valid for at least a second more: the goal is 0.
	FailedValid int `json:"failed_while_valid"`
	// FailedNone counts failed calls made with no valid token in sight.
	FailedNone int            `json:"failed_without_token"`
	Errors     map[string]int `json:"errors"`
	Phases     []PhaseResult  `json:"phases"`
}

// Run drives the schedule on p while cfg.Clients call target, and
// returns the tally. It restores p to Healthy at the end.
func Run(ctx context.Context, p *Provider, cfg Config, name string, target Call) (*Result, error) {
	res := &Result{Target: name, Errors: map[string]int{}}
	var validUntil atomic.Int64 // Unix ns of the latest expiry seen
	var mu sync.Mutex           // guards res and the recovery state below
	lastFailed := false         // the latest call's outcome
	waiting := -1               // a phase that ended failing, until a call is served
	recovered := map[int]time.Time{}
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cctx.Err() == nil {
				start := time.Now()
				valid := validUntil.Load() > start.Add(time.Second).UnixNano()
				callCtx, cancel := context.WithTimeout(cctx, cfg.CallTimeout)
				exp, err := target(callCtx)
				cancel()
				if cctx.Err() != nil {
					return // the run ended under this call: not counted
				}
				mu.Lock()
				res.Calls++
				lastFailed = err != nil
				if err == nil && waiting >= 0 {
					recovered[waiting] = time.Now()
					waiting = -1
				}
				switch {
				case err == nil:
					res.Served++
					for old := validUntil.Load(); exp.UnixNano() > old && !validUntil.CompareAndSwap(old, exp.UnixNano()); old = validUntil.Load() {
					}
				case valid:
					res.FailedValid++
					res.Errors["while valid: "+errorKey(err)]++
				default:
					res.FailedNone++
					res.Errors[errorKey(err)]++
				}
				mu.Unlock()
				select {
				case <-time.After(cfg.Pause):
				case <-cctx.Done():
				}
			}
		}()
	}
	starts := make([]time.Time, len(cfg.Schedule))
	var err error
	for i, ph := range cfg.Schedule {
		starts[i] = time.Now()
		if err = p.Set(i, ph.Mode); err != nil {
			break
		}
		select {
		case <-time.After(ph.For):
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		mu.Lock()
		if ph.Mode != Healthy && lastFailed {
			waiting = i
		}
		mu.Unlock()
	}
	stop()
	wg.Wait()
	if e := p.Set(len(cfg.Schedule), Healthy); err == nil {
		err = e
	}
	for i, ph := range cfg.Schedule {
		req, served := p.counts(i)
		pr := PhaseResult{Mode: ph.Mode, Seconds: ph.For.Seconds(), Requests: req, Served: served, RecoveryMS: -1}
		if at, ok := recovered[i]; ok {
			pr.RecoveryMS = float64(at.Sub(starts[i].Add(ph.For)).Round(time.Millisecond)) / 1e6
		}
		res.Phases = append(res.Phases, pr)
	}
	return res, err
}

// errorKey names a failure for the tally: the core's code, or the
// worker's HTTP answer.
func errorKey(err error) string {
	var e *tokenhelper.Error
	if errors.As(err, &e) {
		k := e.Code
		if e.Repeated {
			k += " (repeated)"
		}
		return k
	}
	return err.Error()
}

// Print writes res as a table.
func Print(w io.Writer, res *Result) {
	fmt.Fprintf(w, "%s: %d calls, %d served, %d failed while a valid token existed, %d failed without one\n",
		res.Target, res.Calls, res.Served, res.FailedValid, res.FailedNone)
	fmt.Fprintf(w, "  %-22s %8s %18s %10s %14s\n", "phase", "seconds", "provider requests", "served", "recovery")
	for _, p := range res.Phases {
		rec := "-"
		if p.RecoveryMS >= 0 {
			rec = fmt.Sprintf("%.0f ms", p.RecoveryMS)
		}
		reqs := fmt.Sprint(p.Requests)
		if p.Mode == Refuse {
			reqs = "(refused)"
		}
		fmt.Fprintf(w, "  %-22s %8.0f %18s %10d %14s\n", p.Mode, p.Seconds, reqs, p.Served, rec)
	}
	if len(res.Errors) > 0 {
		keys := make([]string, 0, len(res.Errors))
		for k := range res.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, " %s×%d", k, res.Errors[k])
		}
		fmt.Fprintf(w, "  failures:%s\n", b.String())
	}
}
