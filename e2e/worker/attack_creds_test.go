//go:build unix

package workere2e_test

// Cached tokens bound to the credentials that obtained them (issue 19,
// item 6), in real workerd: the cost of the worker's slow fingerprint,
// and two routes of one client id with different secrets.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWorkerdPBKDF2Cost measures fingerprint.Slow in bare workerd at the
// worker's iteration count (worker.FingerprintIterations): the median
// time of a request that derives one, minus that of a request that
// derives none, over alternating rounds. Inside workerd the clock stands
// still while code runs, so the cost is measured from outside; on an
// idle machine it is CPU time. It logs the figures for worker/README.md
// and fails only when the cost is far beyond the free plan's 10 ms a
// request (a busy machine stretches it).
func TestWorkerdPBKDF2Cost(t *testing.T) {
	harness.SkipShort(t)
	dir := t.TempDir()
	src := harness.Path("e2e", "worker", "testdata", "pbkdf2cost")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(dir, "app.wasm"), "./worker/testdata/pbkdf2cost")
	build.Dir = harness.Path("e2e")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for from, to := range map[string]string{
		filepath.Join(src, "worker.mjs"):                               "worker.mjs",
		filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"): "wasm_exec.js",
	} {
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, to), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "pbkdf2cost", Src: dir, Files: []string{"worker.mjs", "wasm_exec.js", "app.wasm"}})

	client := &http.Client{Timeout: 30 * time.Second}
	get := func(n, i int) time.Duration {
		start := time.Now()
		res, err := client.Get(fmt.Sprintf("%s/?n=%d&i=%d", w.URL, n, i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != 200 || (n > 0) != (len(b) == 32) {
			t.Fatalf("n=%d: got %d %q", n, res.StatusCode, b)
		}
		return d
	}
	for i := range 20 { // start the instance, compile the functions
		get(0, i)
		get(worker.FingerprintIterations, i)
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for _, n := range []int{worker.FingerprintIterations, 5 * worker.FingerprintIterations} {
		var base, with []time.Duration
		for i := range 41 {
			base = append(base, get(0, 1000+i))
			with = append(with, get(n, 1000+i))
		}
		cost := median(with) - median(base)
		t.Logf("fingerprint.Slow in bare workerd, %d iterations: %v a derivation (median request %v, baseline %v, 41 each)",
			n, cost.Round(10*time.Microsecond), median(with).Round(10*time.Microsecond), median(base).Round(10*time.Microsecond))
		if n == worker.FingerprintIterations && cost > 50*time.Millisecond {
			t.Errorf("one derivation costs %v in workerd, want well under the free plan's 10 ms (50 ms allowed for a busy machine)", cost)
		}
	}
}

// twoSecrets is a worker with two routes of the same client id: good
// with the right secret, bad with a wrong one.
func twoSecrets(providerAddr string) env {
	return env{
		worker.VarRoutes:         "good,bad",
		worker.VarProvider:       "aluma",
		worker.VarTokenURL:       "http://" + providerAddr + demoprovider.Path("aluma"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		"BAD_CLIENT_SECRET":      "wrong-secret-of-some-length",
		worker.VarAllowedOrigins: testOrigin,
	}
}

// checkTwoSecrets runs the scenario against a worker (one URL an
// isolate): good gets a token (1 provider request); bad, asked at every
// isolate, answers 502 invalid_client after exactly one more request (the
// backoff repeats it after that) and never hands out good's token; good
// again, at every isolate, hands out the same token with no request.
func checkTwoSecrets(ctx context.Context, t *testing.T, urls []string, demo *demoprovider.Server) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	status, _, body, err := post(ctx, client, urls[0]+"/good", testOrigin)
	if err != nil || status != 200 || demo.Count() != 1 {
		t.Fatalf("/good/token: got %d %v %s after %d provider requests, want 200 after 1", status, err, body, demo.Count())
	}
	var good struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &good)
	for round := range 2 {
		for i, u := range urls {
			status, _, body, err := post(ctx, client, u+"/bad", testOrigin)
			if err != nil || status != 502 || !strings.Contains(string(body), `"invalid_client"`) {
				t.Errorf("/bad/token at isolate %d: got %d %v %s, want 502 invalid_client", i, status, err, body)
			}
			if strings.Contains(string(body), good.AccessToken) || strings.Contains(string(body), "wrong-secret") {
				t.Fatalf("/bad/token at isolate %d handed out the good route's token or its secret: %s", i, body)
			}
		}
		if n := demo.Count(); n != 2 {
			t.Errorf("after round %d of /bad/token at %d isolate(s): %d provider requests in all, want 2", round+1, len(urls), n)
		}
	}
	for i, u := range urls {
		status, _, body, err := post(ctx, client, u+"/good", testOrigin)
		if err != nil || status != 200 || !strings.Contains(string(body), good.AccessToken) {
			t.Errorf("/good/token again at isolate %d: got %d %v, want 200 and the same token", i, status, err)
		}
	}
	if n := demo.Count(); n != 2 {
		t.Errorf("after /good/token again: %d provider requests in all, want still 2", n)
	}
	t.Logf("two routes of one client, %d isolate(s): /good 1 provider request, /bad (wrong secret) 1, then 0 (backoff), /good again 0: %d in all", len(urls), demo.Count())
}

// TestBareWorkerdRoutesOfOneClientWithTheHolder: two isolates bound to
// one TOKEN_HOLDER namespace in bare workerd, two routes of one client
// with different secrets. Without the credentials in the key both routes
// would ask the one object their key names, and bad would be handed
// good's token.
func TestBareWorkerdRoutesOfOneClientWithTheHolder(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	p := httptest.NewServer(demo)
	defer p.Close()
	svcs := isolates(bundle, p.Listener.Addr().String(), 2, true, twoSecrets(p.Listener.Addr().String()))
	w := harness.StartBareWorkerd(t, svcs...)
	checkTwoSecrets(ctx, t, w.URLs, demo)
	if strings.Contains(w.Log(), "TOKEN_HOLDER object failed") {
		t.Errorf("an isolate fell back to its own path:\n%s", w.Log())
	}
}

// TestWorkerdRoutesOfOneClientKV: the same in wrangler dev with a
// TOKEN_KV binding, the store both routes share (without the credentials
// in the key, bad would find good's token there).
func TestWorkerdRoutesOfOneClientKV(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	p := httptest.NewServer(demo)
	defer p.Close()
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, twoSecrets(p.Listener.Addr().String()), 100000, true), t.TempDir())
	checkTwoSecrets(ctx, t, []string{w.URL}, demo)
}
