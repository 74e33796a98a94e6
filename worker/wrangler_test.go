//go:build unix

package worker_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/worker/internal/devrun"
)

// This file starts the built worker in real workerd through `wrangler dev`
// for the end-to-end tests. Without TOKENHELPER_E2E the tests skip when a
// prerequisite is missing; with TOKENHELPER_E2E=1 (./build.sh test) they
// fail instead.

// e2ePrereqs returns the wrangler binary and the bundle directory, or
// skips (fails under TOKENHELPER_E2E) when either is missing.
func e2ePrereqs(t *testing.T) (wrangler, bundle string) {
	t.Helper()
	wrangler, _ = filepath.Abs("node_modules/.bin/wrangler")
	bundle, _ = filepath.Abs("build")
	var missing []string
	if _, err := os.Stat(wrangler); err != nil {
		missing = append(missing, "worker/node_modules/.bin/wrangler (npm ci in worker/)")
	}
	for _, f := range []string{"worker.mjs", "runtime.mjs", "wasm_exec.js", "app.wasm"} {
		if _, err := os.Stat(filepath.Join(bundle, f)); err != nil {
			missing = append(missing, "worker/build/"+f+" (./build.sh build)")
		}
	}
	if stale := newerSource(filepath.Join(bundle, "app.wasm")); stale != "" {
		missing = append(missing, "a fresh bundle: worker/build/app.wasm is older than "+stale+" (./build.sh build)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if len(missing) > 0 {
		msg := "end-to-end prerequisites missing: " + strings.Join(missing, ", ")
		if os.Getenv("TOKENHELPER_E2E") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set TOKENHELPER_E2E=1 to make this a failure)")
	}
	return wrangler, bundle
}

// newerSource names a Go source of the worker binary newer than bundle,
// or returns "" (also when the bundle does not exist).
func newerSource(bundle string) string {
	fi, err := os.Stat(bundle)
	if err != nil {
		return ""
	}
	for _, pattern := range []string{"*.go", "cmd/worker/*.go", "mint/*.go", "apiproxy/*.go", "entry/*.mjs", "../*.go", "../verify/*.go", "../internal/jsbridge/*.go"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			if si, err := os.Stat(f); err == nil && si.ModTime().After(fi.ModTime()) {
				return f
			}
		}
	}
	return ""
}

// workerDir prepares a private copy of the bundle with its own
// wrangler.jsonc and .dev.vars, so that a rebuild cannot disturb a running
// test and no settings land in the repository.
// With kv, tokens are shared through a KV namespace bound as TOKEN_KV
// instead of the Cache API.
func workerDir(t *testing.T, bundle string, vars env, rateLimit int, kv bool) string {
	t.Helper()
	dir := t.TempDir()
	kvBinding := ""
	if kv {
		kvBinding = `"kv_namespaces": [{ "binding": "TOKEN_KV", "id": "00000000000000000000000000000000" }],`
	}
	cfg := fmt.Sprintf(`{
  "name": "tokenhelper-e2e",
  "main": "./worker.mjs",
  "compatibility_date": "2026-04-01",
  "ratelimits": [{ "name": "RATE_LIMITER", "namespace_id": "1001", "simple": { "limit": %d, "period": 60 } }],
  %s
  "observability": { "enabled": false }
}
`, rateLimit, kvBinding)
	if err := devrun.Dir(dir, bundle, devrun.BundleFiles, cfg, vars); err != nil {
		t.Fatal(err)
	}
	return dir
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := devrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startWorkerd runs wrangler dev in dir (see devrun.Start), stopped when
// the test ends.
func startWorkerd(t *testing.T, wrangler, dir, persist string) *devrun.Process {
	t.Helper()
	p, err := devrun.Start(wrangler, dir, persist, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// restartable serves a handler on one fixed loopback address that can be
// taken down (connections refused) and brought back.
type restartable struct {
	addr string
	h    http.Handler
	srv  *http.Server
}

func newRestartable(t *testing.T, h http.Handler) *restartable {
	t.Helper()
	r := &restartable{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), h: h}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start(t *testing.T) {
	t.Helper()
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.srv = &http.Server{Handler: r.h}
	go r.srv.Serve(l)
}

func (r *restartable) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// post sends POST /token to a running worker and reads the answer.
func post(ctx context.Context, c *http.Client, url, origin string, hdr ...string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/token", nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}
