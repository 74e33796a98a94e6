//go:build unix

// Command startbench measures the Go worker's start in bare workerd (issue
// 20: first answer after the worker is ready <= 30 ms): it starts a fresh
// workerd on the bundle -n times and times, each time, the first GET
// /healthz once workerd listens (the Go instance starts inside it) and the
// first POST /token after it (one provider fetch), beside the plain
// JavaScript worker of bench/worker for scale. workerbench measures the
// same once per run; a single fresh start is noisy, so this takes the
// median of many.
//
// With -inittrace it runs a copy of the bundle whose entry module sets
// GODEBUG=inittrace=1 for Go (workerd --verbose prints Go's stderr) and
// prints the package initialisations that took longest (median over the
// runs): what to make lazy.
//
// With -warm it runs a copy of the bundle whose entry module also runs a
// throwaway Go instance at global scope and serves it one GET /healthz
// (warmUp below): the change to worker/entry/worker.mjs that this measures
// is proposed, not made (see warmUp).
//
//	startbench [-n 15] [-bundle dist/worker] [-baseline bench/worker/baseline.mjs] [-inittrace] [-warm] [-top 25] [-log]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

const origin = "http://127.0.0.1:8080"

const goalFirstAnswerMS = 30 // issue 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 15, "fresh starts per worker")
	bundle := flag.String("bundle", "dist/worker", "the Go worker bundle")
	baseline := flag.String("baseline", "bench/worker/baseline.mjs", "the JavaScript baseline worker (empty: skip)")
	inittrace := flag.Bool("inittrace", false, "run the Go worker with GODEBUG=inittrace=1 and print the slowest package inits")
	top := flag.Int("top", 25, "package inits to print with -inittrace")
	showLog := flag.Bool("log", false, "print workerd's output of the Go worker's last start")
	warm := flag.Bool("warm", false, "run a copy of the bundle whose entry module warms Go up at global scope (warmUp)")
	flag.Parse()
	root, err := os.Getwd() // the repository
	if err != nil {
		return err
	}
	bin, err := devrun.WorkerdBinary(root)
	if err != nil {
		return err
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
	tmp, err := os.MkdirTemp("", "startbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	src := *bundle
	if *inittrace || *warm {
		if src, err = patchedCopy(*bundle, filepath.Join(tmp, "patched"), *inittrace, *warm); err != nil {
			return err
		}
	}
	type target struct {
		name, src string
		files     []string
	}
	name := "Go worker"
	if *warm {
		name += " (-warm)"
	}
	targets := []target{{name, src, devrun.BundleFiles}}
	if *baseline != "" && !*inittrace {
		targets = append(targets, target{"plain JavaScript", filepath.Dir(*baseline), []string{filepath.Base(*baseline)}})
	}
	fmt.Printf("== start-up in bare workerd, %d fresh starts each (median, min, max)\n", *n)
	inits := map[string][]float64{}
	var goMedian float64
	for ti, t := range targets {
		var ready, first, token, rss []float64
		for i := range *n {
			dir := filepath.Join(tmp, fmt.Sprintf("%d-%d", ti, i))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			t0 := time.Now()
			p, err := devrun.StartWorkerd(context.Background(), bin, dir, []devrun.Service{{Name: "bench", Src: t.src, Files: t.files, Vars: vars}}, time.Minute)
			if err != nil {
				return err
			}
			ready = append(ready, report.MS(time.Since(t0)))
			d, err := timed(http.MethodGet, p.URL+"/healthz")
			if err != nil {
				p.Stop()
				return fmt.Errorf("%s: first GET /healthz: %w\n%s", t.name, err, p.Log())
			}
			first = append(first, report.MS(d))
			d, err = timed(http.MethodPost, p.URL+"/token")
			if err != nil {
				p.Stop()
				return fmt.Errorf("%s: first POST /token: %w", t.name, err)
			}
			token = append(token, report.MS(d))
			r, _ := p.RSS()
			rss = append(rss, float64(r)/(1<<20))
			p.Stop()
			if *inittrace {
				parseInits(p.Log(), inits)
			}
			if *showLog && ti == 0 && i == *n-1 {
				fmt.Print(p.Log())
			}
		}
		fmt.Printf("%-26s ready %s   first answer %s   first token %s   workerd RSS then %.0f MB\n", t.name, stats(ready), stats(first), stats(token), median(rss))
		if ti == 0 {
			goMedian = median(first)
		}
	}
	met := "MISSED"
	if goMedian <= goalFirstAnswerMS {
		met = "met"
	}
	fmt.Printf("goal: first answer after ready, Go, median %.1f ms, limit %d ms: %s\n", goMedian, goalFirstAnswerMS, met)
	if *inittrace {
		printInits(inits, *top)
	}
	return nil
}

// patchedCopy copies bundle into dir with an entry module changed for a
// measurement: with inittrace it gives Go GODEBUG=inittrace=1 (wasm_exec.js
// passes go.env to the program), with warm it ends with warmUp.
func patchedCopy(bundle, dir string, inittrace, warm bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range devrun.BundleFiles {
		b, err := os.ReadFile(filepath.Join(bundle, f))
		if err != nil {
			return "", err
		}
		if f == "worker.mjs" {
			s := string(b)
			const at = "const go = new Go();"
			if !strings.Contains(s, at) {
				return "", fmt.Errorf("%q not found in worker.mjs", at)
			}
			if inittrace {
				s = strings.ReplaceAll(s, at, at+` go.env = { GODEBUG: "inittrace=1" };`)
			}
			if warm {
				s += warmUp
			}
			b = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// warmUp is added at the end of the entry module by -warm: a proposal for
// worker/entry/worker.mjs (issue 20's first answer), measured here.
//
// V8 compiles a WebAssembly module's functions lazily, on their first
// call, and the code it compiles belongs to the module, shared by every
// instance of it. Most of the Go worker's first answer is that compiling:
// the runtime's start, the package initialisations, main, and the first
// request's path through the handler. The real instance cannot start at
// global scope (the runtime reads random bytes, which workerd refuses
// outside a request; the env is only known in a request), but a throwaway
// one can, with zero bytes for random and a fixed configuration of
// nothing: it starts, builds its handler and answers one GET /healthz, so
// that the real instance, started in the first request, runs code already
// compiled. It serves nothing else; nothing of its state (its predictable
// map seeds, its settings) reaches a real request, and once warmUp returns
// nothing refers to it. It needs only Go, mod and createRuntimeContext from
// the entry module, and Go's serve exports. It sets no timer (workerd
// refuses them at global scope), and it fails silently: a warm-up that
// throws costs only the speed it would have given.
const warmUp = `
// ---- warm-up (startbench -warm) ----
function warmUp() {
  const go = new Go();
  const imports = { ...go.importObject, workers: { ready() {} } };
  imports.gojs = { ...imports.gojs, "runtime.getRandomData": () => {}, "runtime.scheduleTimeoutEvent": () => {}, "runtime.clearTimeoutEvent": () => {} };
  const instance = new WebAssembly.Instance(mod, imports);
  const env = { TOKEN_URL: "https://warm-up.invalid/token", CLIENT_ID: "warm-up", CLIENT_SECRET: "warm-up", ALLOWED_ORIGINS: "https://warm-up.invalid" };
  const context = createRuntimeContext({ env, ctx: {}, binding: { hold() {}, release() {}, await() {}, answer() {} } });
  context.instance = "long-lived";
  go.run(instance, context).catch(() => {});
  // One GET /healthz through the serve exports (worker/cmd/worker/direct.go).
  const x = instance.exports, input = new TextEncoder().encode("GET\nhttps://warm-up.invalid/healthz\n0");
  new Uint8Array(x.mem.buffer, x.tokenhelper_buf(input.length), input.length).set(input);
  x.tokenhelper_serve(input.length);
}
try {
  warmUp();
} catch {}
`

// initLine is one line of Go's inittrace: "init PKG @T ms, D ms clock, ...".
var initLine = regexp.MustCompile(`init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

func parseInits(log string, into map[string][]float64) {
	s := bufio.NewScanner(strings.NewReader(log))
	for s.Scan() {
		if m := initLine.FindStringSubmatch(s.Text()); m != nil {
			d, _ := strconv.ParseFloat(m[2], 64)
			into[m[1]] = append(into[m[1]], d)
		}
	}
}

func printInits(inits map[string][]float64, top int) {
	type row struct {
		pkg string
		ms  float64
	}
	var rows []row
	total := 0.0
	for p, ds := range inits {
		m := median(ds)
		rows = append(rows, row{p, m})
		total += m
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ms > rows[j].ms })
	fmt.Printf("\n== package initialisation in workerd (GODEBUG=inittrace=1, median per package): %d packages, %.1f ms in all\n", len(rows), total)
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Printf("%8.2f ms  %s\n", r.ms, r.pkg)
	}
}

// timed sends one request (a POST /token with the allowed Origin) and
// checks for a 200.
func timed(method, url string) (time.Duration, error) {
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Origin", origin)
	t0 := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if res.StatusCode != http.StatusOK {
		return d, fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return d, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func stats(xs []float64) string {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%6.1f ms (%5.1f-%6.1f)", median(s), s[0], s[len(s)-1])
}
