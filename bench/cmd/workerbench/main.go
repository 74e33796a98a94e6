//go:build unix

// Command workerbench measures the worker in local workerd (wrangler dev, or
// bare workerd with -runtime workerd),
// in one run, side by side:
//
//   - our Go worker with one Go instance per isolate (worker/entry, the
//     default), the same bundle with syumai's instance per request
//     (GO_INSTANCE=per-request), and the plain JavaScript worker in
//     bench/worker/baseline.mjs doing the same job (check the origin,
//     return the token cached in the Cache API);
//   - for each: time from `wrangler dev` start to ready, the first answer
//     (GET /healthz: the Go instance starts there) and the first token
//     (POST /token, one provider fetch); then cached POST /token median,
//     p99 and requests/s with each number of keep-alive HTTP/1.1 clients
//     (bench/loadgen), in rounds with the workers taking turns, so
//     that a change in the machine's load hits all three alike;
//   - the resident memory of workerd before and after -memory requests to
//     the long-lived instance;
//   - the bundle's size raw, gzip -9 and brotli -q 11 (and after
//     wasm-opt -Oz with -wasm-opt), and what each dependency adds
//     (the probe programs in bench/worker/probes).
//
// Run it from the repository root (./build.sh bench does). It prints a
// table with the ratios the goals are about and writes
// everything as JSON (-json, default dist/bench/worker.json) for the
// combined report.
//
//	workerbench [-n 500] [-rounds 5] [-clients 1,8] [-warmup 300] [-memory 10000] [-bundle dist/worker]
//	            [-hooks-bundle dist/worker-testhooks] [-baseline bench/worker/baseline.mjs] [-json dist/bench/worker.json]
//	            [-wrangler worker/node_modules/.bin/wrangler] [-sizes=true] [-wasm-opt]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/bench/loadgen"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

const origin = "http://127.0.0.1:8080"

// Goals of issues 6 and 20, checked in the report (figures, not a test).
const (
	goalMedianOverJS     = 1.2 // long-lived median at most 1.2x the JS worker's (issue 20)
	goalRPSOverPerReq    = 3.0 // long-lived req/s at least 3x the per-request instance's
	goalBundleGzipBytes  = 2_000_000
	goalFirstAnswerMS    = 30   // GET /healthz once the worker listens (issue 20)
	goalMemoryGrowthFrac = 0.10 // "no growth": within 10%
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "workerbench:", err)
		os.Exit(1)
	}
}

// Report is what -json writes.
type Report struct {
	Schema   string    `json:"schema"`
	Time     time.Time `json:"time"`
	Go       string    `json:"go"`
	CPUs     int       `json:"cpus"`
	Requests int       `json:"requests_per_row"`
	Targets  []*Target `json:"targets"`
	Ratios   []Ratio   `json:"ratios"`
	Memory   []*Memory `json:"memory,omitempty"`
	Size     *Sizes    `json:"size,omitempty"`
	Goals    []Goal    `json:"goals"`
	Provider int       `json:"provider_requests_while_measuring"`
	Runtime  string    `json:"runtime"`
	Harness  string    `json:"harness"`
	Loopback bool      `json:"loopback"`
	Note     string    `json:"note"`
}

// Target is one worker under test.
type Target struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	ReadyMS      float64 `json:"wrangler_ready_ms"`
	FirstAnswer  float64 `json:"first_answer_ms"`
	FirstToken   float64 `json:"first_token_ms"`
	WarmupTokens int     `json:"provider_requests_for_warmup"`
	Rows         []Row   `json:"rows"`

	p *devrun.Process
}

// Row is one number of clients against one target: the median of the
// rounds' medians and p99s, and requests/s over all rounds.
type Row struct {
	Clients  int              `json:"clients"`
	Requests int              `json:"requests"`
	Errors   int              `json:"errors"`
	Non200   int              `json:"non_200"`
	Median   loadgen.Duration `json:"median_ms"`
	P99      loadgen.Duration `json:"p99_ms"`
	PerSec   float64          `json:"requests_per_second"`
	// CPU is the workerd processes' CPU time per request, ms (user and
	// system, from /proc; 0 where there is none).
	CPU    float64          `json:"cpu_ms_per_request"`
	Rounds []loadgen.Result `json:"rounds"`
}

func combine(c int, rounds []loadgen.Result) Row {
	m := loadgen.Merge(rounds)
	return Row{Clients: c, Rounds: rounds, Requests: m.Requests, Errors: m.Errors, Non200: m.Requests - m.Statuses[200],
		Median: m.Median, P99: m.P99, PerSec: m.PerSec}
}

// Ratio compares two targets at one number of clients.
type Ratio struct {
	Name    string  `json:"name"`
	Clients int     `json:"clients"`
	Value   float64 `json:"value"`
}

// Memory is workerd's resident memory around many requests, and for the
// Go worker the Go runtime's own figures (from the testhooks build's /__test/instance).
type Memory struct {
	Target       string  `json:"target"`
	Name         string  `json:"name"`
	Requests     int     `json:"requests"`
	Clients      int     `json:"clients"`
	Processes    int     `json:"workerd_processes"`
	BeforeBytes  int64   `json:"rss_before_bytes"`
	AfterBytes   int64   `json:"rss_after_bytes"`
	Growth       float64 `json:"rss_growth"`
	GoHeapBefore int64   `json:"go_heap_before_bytes,omitempty"`
	GoHeapAfter  int64   `json:"go_heap_after_bytes,omitempty"`
	GoSysBefore  int64   `json:"go_sys_before_bytes,omitempty"`
	GoSysAfter   int64   `json:"go_sys_after_bytes,omitempty"`
	GoGCs        int64   `json:"go_gcs,omitempty"`
	// Within and Later count the Go worker's answers given within the
	// entry module's direct call and later (testhooks build).
	Within int64 `json:"answered_within_call,omitempty"`
	Later  int64 `json:"answered_later,omitempty"`
	Non200 int   `json:"non_200"`
}

// Goal is one goal of issue 6 with the measured value.
type Goal struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

func run() error {
	requests := flag.Int("n", 500, "requests per row")
	clientList := flag.String("clients", "1,8", "comma list of concurrent clients")
	memRequests := flag.Int("memory", 10000, "requests for the memory check of the long-lived instance (0: skip)")
	bundle := flag.String("bundle", "dist/worker", "the Go worker bundle")
	hooksBundle := flag.String("hooks-bundle", "dist/worker-testhooks", "the same bundle built with -tags testhooks, for the memory check")
	baseline := flag.String("baseline", "bench/worker/baseline.mjs", "the JavaScript baseline worker")
	rt := flag.String("runtime", "wrangler", "where the workers run: wrangler (wrangler dev) or workerd (bare workerd, no proxy in front)")
	jsonOut := flag.String("json", "dist/bench/worker.json", "where to write the JSON report (empty: nowhere)")
	sizes := flag.Bool("sizes", true, "measure the bundle and build the dependency probes")
	rounds := flag.Int("rounds", 5, "rounds per row, the workers taking turns (against drift in the machine's load)")
	warmup := flag.Int("warmup", 300, "cached requests sent to each worker before measuring")
	perRequest := flag.Bool("per-request", true, "also measure the Go instance per request (slow: skip it for quick runs)")
	wasmOpt := flag.Bool("wasm-opt", false, "also measure app.wasm after wasm-opt -Oz (binaryen; about a minute)")
	flag.Parse()
	clients, err := loadgen.ParseClients(*clientList)
	if err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	root, err := os.Getwd() // the repository: ./build.sh runs us there
	if err != nil {
		return err
	}
	launch := func(dir, src string, files []string, vars map[string]string) (*devrun.Process, error) {
		return devrun.LaunchIn(*rt, root, dir, src, "bench", files, vars)
	}
	rep := &Report{
		Schema: "tokenhelper.bench.worker/v1", Time: time.Now().UTC(), Go: runtime.Version(),
		CPUs: runtime.NumCPU(), Requests: *requests, Loopback: true,
		Runtime: *rt, Harness: report.Runtimes[*rt] + " on loopback; keep-alive HTTP/1.1 clients (bench/loadgen)",
		Note: "compare ratios, not absolute times: under wrangler, its proxy adds a few ms to every request",
	}

	if *sizes {
		fmt.Println("== sizes")
		if rep.Size, err = measureSizes(*bundle, *wasmOpt); err != nil {
			return err
		}
		printSizes(rep.Size)
	}

	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	vars := map[string]string{
		"TOKEN_PROVIDER":  "alphaus-ripple",
		"TOKEN_URL":       provider.URL + demoprovider.Path("alphaus-ripple"),
		"CLIENT_ID":       demoprovider.DefaultClientID,
		"CLIENT_SECRET":   demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS": origin,
	}
	tmp, err := os.MkdirTemp("", "workerbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer func() {
		for _, t := range rep.Targets {
			if t.p != nil {
				t.p.Stop()
			}
		}
	}()

	fmt.Println("\n== start-up: " + *rt + " ready, first answer (GET /healthz), first token (one provider fetch)")
	for _, w := range []struct{ id, name, src, main, instance string }{
		{"go-long-lived", "Go, one instance per isolate", *bundle, "worker.mjs", "long-lived"},
		{"go-per-request", "Go, instance per request", *bundle, "worker.mjs", "per-request"},
		{"js", "plain JavaScript", filepath.Dir(*baseline), filepath.Base(*baseline), ""},
	} {
		if w.instance == "per-request" && !*perRequest {
			continue
		}
		dir := filepath.Join(tmp, w.id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		files := devrun.BundleFiles
		if w.main != "worker.mjs" {
			files = []string{w.main}
		}
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		if w.instance != "" {
			v["GO_INSTANCE"] = w.instance
		}
		t := &Target{ID: w.id, Name: w.name}
		t0 := time.Now()
		p, err := launch(dir, w.src, files, v)
		if err != nil {
			return err
		}
		t.p = p
		t.ReadyMS = report.MS(time.Since(t0))
		rep.Targets = append(rep.Targets, t)
		d, err := get(p.URL + "/healthz")
		if err != nil {
			return fmt.Errorf("%s: first GET /healthz: %w", w.name, err)
		}
		t.FirstAnswer = report.MS(d)
		before := demo.Count()
		d, err = request(http.DefaultClient, p.URL)
		if err != nil {
			return fmt.Errorf("%s: first token: %w", w.name, err)
		}
		t.FirstToken = report.MS(d)
		for i := range 20 {
			if _, err := request(http.DefaultClient, p.URL); err != nil {
				return fmt.Errorf("%s: warm-up request %d: %w", w.name, i+1, err)
			}
		}
		t.WarmupTokens = demo.Count() - before
		// Then warm up the JIT: V8 compiles wasm with its baseline
		// compiler first and optimises hot functions later.
		if r := load(p.URL, 2, *warmup); r.Statuses[200] != r.Requests {
			return fmt.Errorf("%s: warm-up: %v", w.name, r.Statuses)
		}
		fmt.Printf("%-30s ready %7.0f ms   first answer %7.2f ms   first token %7.2f ms   provider requests for 21 tokens: %d\n",
			w.name, t.ReadyMS, t.FirstAnswer, t.FirstToken, t.WarmupTokens)
	}

	fmt.Printf("\n== cached POST /token, %d requests per row in %d rounds, the workers taking turns\n", *requests, *rounds)
	fmt.Printf("%-8s %-30s %10s %10s %10s %8s %10s\n", "clients", "worker", "median", "p99", "req/s", "non-200", "CPU ms/req")
	before := demo.Count()
	for _, c := range clients {
		results := make([][]loadgen.Result, len(rep.Targets))
		cpu := make([]time.Duration, len(rep.Targets))
		for range *rounds {
			for i, t := range rep.Targets {
				c0 := cpuTime(t.p.Pgid())
				results[i] = append(results[i], load(t.p.URL, c, max(1, *requests / *rounds)))
				cpu[i] += cpuTime(t.p.Pgid()) - c0
			}
		}
		for i, t := range rep.Targets {
			r := combine(c, results[i])
			r.CPU = report.MS(cpu[i] / time.Duration(max(1, r.Requests)))
			t.Rows = append(t.Rows, r)
			fmt.Printf("%-8d %-30s %10s %10s %10.0f %8d %10.3f\n", c, t.Name, ms(time.Duration(r.Median)), ms(time.Duration(r.P99)),
				r.PerSec, r.Non200, r.CPU)
		}
	}
	rep.Provider = demo.Count() - before
	fmt.Printf("provider token requests during the measurement: %d\n", rep.Provider)

	long, per, js := rep.Targets[0], rep.Targets[len(rep.Targets)-2], rep.Targets[len(rep.Targets)-1]
	fmt.Printf("\n== ratios\n%-8s %-34s %-34s %-34s\n", "clients", "median: long-lived / JS (<= 1.2)", "CPU per request: long-lived / JS", "req/s: long-lived / per-request (>= 3)")
	for i, c := range clients {
		m := float64(long.Rows[i].Median) / float64(js.Rows[i].Median)
		cpu := long.Rows[i].CPU / max(js.Rows[i].CPU, 0.001)
		rep.Ratios = append(rep.Ratios,
			Ratio{"median_long_lived_over_js", c, report.Round3(m)},
			Ratio{"cpu_long_lived_over_js", c, report.Round3(cpu)},
			Ratio{"rps_long_lived_over_js", c, report.Round3(long.Rows[i].PerSec / js.Rows[i].PerSec)})
		rep.Goals = append(rep.Goals,
			Goal{fmt.Sprintf("cached POST /token median, Go / JS, %d clients", c), report.Round3(m), goalMedianOverJS, m <= goalMedianOverJS})
		q := "-"
		if per != long {
			r := long.Rows[i].PerSec / per.Rows[i].PerSec
			rep.Ratios = append(rep.Ratios,
				Ratio{"median_per_request_over_js", c, report.Round3(float64(per.Rows[i].Median) / float64(js.Rows[i].Median))},
				Ratio{"rps_long_lived_over_per_request", c, report.Round3(r)})
			rep.Goals = append(rep.Goals,
				Goal{fmt.Sprintf("req/s long-lived / per-request, %d clients", c), report.Round3(r), goalRPSOverPerReq, r >= goalRPSOverPerReq})
			q = fmt.Sprintf("%.2f", r)
		}
		fmt.Printf("%-8d %-34.2f %-34.2f %-34s\n", c, m, cpu, q)
	}

	rep.Goals = append(rep.Goals, Goal{"first answer after ready, Go long-lived, ms", long.FirstAnswer, goalFirstAnswerMS, long.FirstAnswer <= goalFirstAnswerMS})

	if *memRequests > 0 {
		mems, err := memoryCheck(launch, tmp, *hooksBundle, vars, js, *memRequests)
		if err != nil {
			return err
		}
		rep.Memory = mems
		fmt.Printf("\n== memory over %d cached POST /token at 8 clients (%s)\n", *memRequests, *rt)
		for _, m := range mems {
			fmt.Printf("%-30s workerd RSS %7.1f -> %7.1f MB (%+6.1f%%)", m.Name, mb(m.BeforeBytes), mb(m.AfterBytes), 100*m.Growth)
			if m.GoSysAfter > 0 {
				fmt.Printf("   Go heap %5.1f -> %5.1f MB, Go memory (Sys) %5.1f -> %5.1f MB, %d GCs, answered within the call %d, later %d",
					mb(m.GoHeapBefore), mb(m.GoHeapAfter), mb(m.GoSysBefore), mb(m.GoSysAfter), m.GoGCs, m.Within, m.Later)
			}
			fmt.Printf("   non-200 %d\n", m.Non200)
		}
		if len(mems) == 2 {
			g, j := mems[0], mems[1]
			goGrowth := float64(g.GoSysAfter-g.GoSysBefore) / float64(max(1, g.GoSysBefore))
			rep.Goals = append(rep.Goals,
				Goal{fmt.Sprintf("Go memory (Sys) growth over %d requests", g.Requests), report.Round3(goGrowth), goalMemoryGrowthFrac, goGrowth <= goalMemoryGrowthFrac},
				Goal{"workerd RSS growth, Go long-lived minus JS", report.Round3(g.Growth - j.Growth), goalMemoryGrowthFrac, g.Growth-j.Growth <= goalMemoryGrowthFrac})
			// Issue 20: the growth in bytes at most the JS worker's plus 20%.
			gb, jb := float64(g.AfterBytes-g.BeforeBytes), float64(max(1, j.AfterBytes-j.BeforeBytes))
			rep.Goals = append(rep.Goals, Goal{"workerd RSS growth bytes, Go / JS", report.Round3(gb / jb), 1.2, gb/jb <= 1.2})
		}
	}
	if rep.Size != nil {
		g := float64(rep.Size.Bundle.Gzip)
		rep.Goals = append(rep.Goals, Goal{"worker app.wasm gzip bytes", g, goalBundleGzipBytes, g <= goalBundleGzipBytes})
	}
	fmt.Println("\n== goals (issues 6 and 20)")
	for _, g := range rep.Goals {
		verdict := "met"
		if !g.Met {
			verdict = "MISSED"
		}
		fmt.Printf("%-52s %12.3f  limit %12.3f  %s\n", g.Name, g.Value, g.Limit, verdict)
	}
	if err := report.WriteJSON(*jsonOut, rep); err != nil {
		return err
	}
	if *jsonOut != "" {
		fmt.Println("\nwrote", *jsonOut)
	}
	return nil
}

// load sends n cached POST /token with c clients.
func load(url string, c, n int) loadgen.Result {
	newReq := func() (*http.Request, error) {
		r, err := http.NewRequest(http.MethodPost, url+"/token", nil)
		if err == nil {
			r.Header.Set("Origin", origin)
		}
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return loadgen.Run(ctx, c, n, newReq)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func mb(b int64) float64        { return float64(b) / 1e6 }

// get sends one GET and checks for a 200.
func get(url string) (time.Duration, error) {
	t0 := time.Now()
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if res.StatusCode != 200 {
		return d, fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return d, nil
}

// request sends one POST /token and checks for a 200 with a token.
func request(c *http.Client, url string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, url+"/token", nil)
	req.Header.Set("Origin", origin)
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if res.StatusCode != 200 || !strings.Contains(string(b), `"access_token"`) {
		return d, fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return d, nil
}
