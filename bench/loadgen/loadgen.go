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

// Merge combines rounds of the same load taken in turns with other loads
// (against drift in the machine's load): the median of the rounds'
// medians and of their p99s, requests and statuses summed, req/s over
// the summed time.
func Merge(rounds []Result) Result {
	if len(rounds) == 0 {
		return Result{}
	}
	out := Result{Clients: rounds[0].Clients, Statuses: map[int]int{}}
	var meds, p99s []Duration
	for _, x := range rounds {
		out.Requests += x.Requests
		out.Errors += x.Errors
		for k, v := range x.Statuses {
			out.Statuses[k] += v
		}
		meds, p99s = append(meds, x.Median), append(p99s, x.P99)
		out.Elapsed += x.Elapsed
	}
	slices.Sort(meds)
	slices.Sort(p99s)
	out.Median, out.P99 = meds[len(meds)/2], p99s[len(p99s)/2]
	if out.Elapsed > 0 {
		out.PerSec = float64(out.Requests) / time.Duration(out.Elapsed).Seconds()
	}
	return out
}
