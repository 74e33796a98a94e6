// Package loadgen sends a bounded number of HTTP/1.1 keep-alive requests
// from a fixed number of concurrent clients and reports latency figures.
// The benchmarks use it against workerd (ApacheBench's HTTP/1.0 hangs
// against wrangler dev) and only ever against loopback addresses.
package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result summarises one run.
type Result struct {
	Clients  int         `json:"clients"`
	Requests int         `json:"requests"`
	Errors   int         `json:"errors"`
	Statuses map[int]int `json:"statuses"`
	Median   Duration    `json:"median_ms"`
	P99      Duration    `json:"p99_ms"`
	PerSec   float64     `json:"requests_per_second"`
	Elapsed  Duration    `json:"elapsed_ms"`
}

// Duration marshals as fractional milliseconds.
type Duration time.Duration

// MarshalJSON writes milliseconds with three decimals.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

// ParseClients reads a comma list of client counts ("1,8").
func ParseClients(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, errors.New("want a comma list of positive numbers")
		}
		out = append(out, n)
	}
	return out, nil
}

// Run sends n requests made by newReq from clients goroutines sharing one
// keep-alive transport, and stops early when ctx ends.
func Run(ctx context.Context, clients, n int, newReq func() (*http.Request, error)) Result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, n)
		statuses = map[int]int{}
		errs     int
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				req, err := newReq()
				if err != nil {
					mu.Lock()
					errs++
					mu.Unlock()
					continue
				}
				t := time.Now()
				resp, err := c.Do(req.WithContext(ctx))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					statuses[resp.StatusCode]++
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := Result{Clients: clients, Requests: len(lat) + errs, Errors: errs, Statuses: statuses, Elapsed: Duration(elapsed)}
	if len(lat) > 0 {
		r.Median = Duration(lat[len(lat)/2])
		r.P99 = Duration(lat[min(len(lat)-1, len(lat)*99/100)])
		r.PerSec = float64(len(lat)) / elapsed.Seconds()
	}
	return r
}
