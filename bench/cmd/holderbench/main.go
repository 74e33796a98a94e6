//go:build unix

// Command holderbench measures what the TOKEN_HOLDER Durable Object does
// across isolates, in bare workerd (wrangler's workerd binary with our own
// config): -isolates separate worker services (none derived from another,
// so an isolate and a Go instance each), side by side without the object
// (today's path: each isolate its own flight, bare workerd has no Cache
// API) and with it (the object defined by the first service, the others
// bound to it through serviceName):
//
//   - a burst on an empty cache: -burst POST /token at 8 at once to every
//     isolate at the same time; provider requests in all;
//   - renewal: tokens of -lifetime, a second burst once they have
//     expired; provider requests for it;
//   - a cached POST /token through an isolate that holds the token,
//     median and p99 at 1 and 8 clients, with and without the object.
//
// The table goes to stdout, everything as JSON to -json.
//
//	holderbench [-isolates 4] [-burst 50] [-n 500] [-bundle dist/worker] [-json dist/bench/holder.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/bench/loadgen"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

const origin = "http://127.0.0.1:8080"

// Report is what -json writes.
type Report struct {
	Schema   string    `json:"schema"`
	Time     time.Time `json:"time"`
	Go       string    `json:"go"`
	CPUs     int       `json:"cpus"`
	Isolates int       `json:"isolates"`
	Burst    int       `json:"burst_per_isolate"`
	Without  Side      `json:"without_object"`
	With     Side      `json:"with_object"`
	Harness  string    `json:"harness"`
}

// Side is one configuration's figures.
type Side struct {
	BurstRequests   int              `json:"provider_requests_burst"`
	RenewalRequests int              `json:"provider_requests_renewal"`
	Cached          []loadgen.Result `json:"cached_token"`
	Non200          int              `json:"non_200"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "holderbench:", err)
		os.Exit(1)
	}
}

func run() error {
	isolates := flag.Int("isolates", 4, "separate worker services (isolates)")
	burst := flag.Int("burst", 50, "POST /token per isolate in each burst, 8 at once")
	n := flag.Int("n", 500, "requests per cached row")
	lifetime := flag.Duration("lifetime", 4*time.Second, "lifetime of the provider's tokens in the renewal run (its second burst waits it out)")
	bundle := flag.String("bundle", "dist/worker", "the worker bundle")
	jsonOut := flag.String("json", "dist/bench/holder.json", "where to write the JSON report (empty: nowhere)")
	flag.Parse()
	root, err := os.Getwd() // the repository: ./build.sh runs us there
	if err != nil {
		return err
	}
	bin, err := devrun.WorkerdBinary(root)
	if err != nil {
		return err
	}
	rep := &Report{Schema: "tokenhelper.bench.holder/v1", Time: time.Now().UTC(), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Isolates: *isolates, Burst: *burst,
		Harness: report.Runtimes["workerd"] + ", one worker service per isolate; demo provider in process"}
	fmt.Printf("== TOKEN_HOLDER across %d isolates (bare workerd): without the object, then with it\n", *isolates)
	for _, with := range []bool{false, true} {
		side, err := measure(bin, *bundle, *isolates, *burst, *n, 0, with)
		if err != nil {
			return err
		}
		renewal, err := measure(bin, *bundle, *isolates, *burst, 0, *lifetime, with)
		if err != nil {
			return err
		}
		side.RenewalRequests, side.Non200 = renewal.RenewalRequests, side.Non200+renewal.Non200
		fmt.Printf("%-14s burst on an empty cache: %d provider requests; renewal burst: %d; cached /token median %.2f ms (1 client), %.2f ms (8)\n",
			map[bool]string{false: "without object", true: "with object"}[with], side.BurstRequests, side.RenewalRequests,
			ms(side.Cached[0].Median), ms(side.Cached[1].Median))
		if with {
			rep.With = side
		} else {
			rep.Without = side
		}
	}
	fmt.Printf("\n%-44s %16s %16s\n", "", "without object", "with object")
	fmt.Printf("%-44s %16d %16d   goal: 1 with the object\n", fmt.Sprintf("provider requests, burst %dx%d at 8", *isolates, *burst), rep.Without.BurstRequests, rep.With.BurstRequests)
	fmt.Printf("%-44s %16d %16d   goal: 1 with the object\n", "provider requests, renewal burst", rep.Without.RenewalRequests, rep.With.RenewalRequests)
	for i, c := range []int{1, 8} {
		a, b := rep.Without.Cached[i], rep.With.Cached[i]
		fmt.Printf("%-44s %13.2f ms %13.2f ms   ratio %.2fx (goal: the same)\n", fmt.Sprintf("cached POST /token median, %d client(s)", c), ms(a.Median), ms(b.Median), float64(b.Median)/float64(max(1, a.Median)))
		fmt.Printf("%-44s %13.2f ms %13.2f ms   ratio %.2fx\n", fmt.Sprintf("cached POST /token p99, %d client(s)", c), ms(a.P99), ms(b.P99), float64(b.P99)/float64(max(1, a.P99)))
	}
	if err := report.WriteJSON(*jsonOut, rep); err != nil {
		return err
	}
	if rep.With.Non200+rep.Without.Non200 > 0 {
		return fmt.Errorf("%d answers were not 200: the figures are meaningless", rep.With.Non200+rep.Without.Non200)
	}
	return nil
}

// measure runs isolates services of bundle (bound to the object when
// with) against a fresh demo provider: a burst on an empty cache, then
// with lifetime (tokens that short) a burst once they have expired, or
// without it (the demo's 24 h) the cached rows through the last isolate.
func measure(bin, bundle string, isolates, burst, n int, lifetime time.Duration, with bool) (Side, error) {
	var side Side
	demo := demoprovider.New(demoprovider.Options{Lifetime: lifetime})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	svcs := make([]devrun.Service, isolates)
	for i := range svcs {
		svcs[i] = devrun.Service{Name: fmt.Sprintf("isolate-%d", i), Src: bundle, Files: devrun.BundleFiles, Vars: map[string]string{
			"TOKEN_PROVIDER": "alphaus-ripple", "TOKEN_URL": provider.URL + demoprovider.Path("alphaus-ripple"),
			"CLIENT_ID": demoprovider.DefaultClientID, "CLIENT_SECRET": demoprovider.DefaultClientSecret, "ALLOWED_ORIGINS": origin,
		}}
		if with {
			svcs[i].Holder = i == 0
			if i > 0 {
				svcs[i].HolderOf = svcs[0].Name
			}
		}
	}
	dir, err := os.MkdirTemp("", "holderbench-")
	if err != nil {
		return side, err
	}
	defer os.RemoveAll(dir)
	w, err := devrun.StartWorkerd(context.Background(), bin, dir, svcs, time.Minute)
	if err != nil {
		return side, err
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	side.Non200 += burstAll(ctx, w.URLs, burst)
	side.BurstRequests = demo.Count()
	if lifetime > 0 {
		time.Sleep(lifetime + 500*time.Millisecond) // every copy has expired
		side.Non200 += burstAll(ctx, w.URLs, burst)
		side.RenewalRequests = demo.Count() - side.BurstRequests
		return side, nil
	}
	for _, c := range []int{1, 8} {
		load(ctx, w.URLs[len(w.URLs)-1], c, 100) // warm-up
		r := load(ctx, w.URLs[len(w.URLs)-1], c, n)
		side.Cached = append(side.Cached, r)
		side.Non200 += r.Requests - r.Statuses[200]
	}
	return side, nil
}

// burstAll sends burst POST /token, 8 at once, to every URL at the same
// time, and returns how many were not 200.
func burstAll(ctx context.Context, urls []string, burst int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := load(ctx, u, 8, burst)
			mu.Lock()
			bad += r.Requests - r.Statuses[200]
			mu.Unlock()
		}()
	}
	wg.Wait()
	return bad
}

// load sends n POST /token with the page's Origin, c at once.
func load(ctx context.Context, url string, c, n int) loadgen.Result {
	return loadgen.Run(ctx, c, n, func() (*http.Request, error) {
		r, err := http.NewRequest(http.MethodPost, url+"/token", nil)
		if err == nil {
			r.Header.Set("Origin", origin)
		}
		return r, err
	})
}

func ms(d loadgen.Duration) float64 { return float64(d) / float64(time.Millisecond) }
