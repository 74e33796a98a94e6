//go:build unix

// Package clie2e runs the tokenhelper command in worker mode against the
// worker in workerd: the command's file cache and lock in front of the
// worker's own cache.
package clie2e_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

const origin = "https://app.example.com"

// result is a finished run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// command starts the built command with env as its whole environment
// and home as HOME and XDG_CACHE_HOME; the returned func waits for it.
func command(t *testing.T, bin, home string, env map[string]string, args ...string) func() result {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() result {
		var ee *exec.ExitError
		if err := cmd.Wait(); err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		r := result{cmd.ProcessState.ExitCode(), out.String(), errOut.String()}
		if strings.Contains(r.stdout+r.stderr, demoprovider.DefaultClientSecret) {
			t.Error("the client secret is in the command's output")
		}
		return r
	}
}

// TestCommandAgainstWorkerd: four invocations started at once with an
// empty cache make one POST at the worker (and the worker one request at
// the provider), a fifth makes none; a wrong Origin exits 3 with the
// worker's origin_not_allowed.
func TestCommandAgainstWorkerd(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	bin := filepath.Join(t.TempDir(), "tokenhelper")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/tokenhelper")
	build.Dir = harness.Path()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	dir := harness.WorkerDir(t, bundle, devrun.Config("tokenhelper-cli-e2e", "worker.mjs"), map[string]string{
		"TOKEN_PROVIDER": "aluma", "TOKEN_URL": provider.URL + demoprovider.Path("aluma"),
		"CLIENT_ID": demoprovider.DefaultClientID, "CLIENT_SECRET": demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS": origin,
	})
	w := harness.StartWorkerd(t, wrangler, dir, t.TempDir())

	// A counting, slowed proxy in front of the worker: every invocation
	// that starts together is still waiting when the first one asks.
	target, _ := url.Parse(w.URL)
	var posts atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			time.Sleep(300 * time.Millisecond)
		}
		rp.ServeHTTP(rw, r)
	}))
	defer proxy.Close()

	home := t.TempDir()
	env := map[string]string{"TOKENHELPER_WORKER": proxy.URL + "/token", "TOKENHELPER_ORIGIN": origin}
	var waits []func() result
	for range 4 {
		waits = append(waits, command(t, bin, home, env, "token"))
	}
	var first string
	for i, wait := range waits {
		r := wait()
		if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, ".") != 2 {
			t.Fatalf("invocation %d: got %d %q %q, want 0 and a JWT", i, r.code, r.stdout, r.stderr)
		}
		if first == "" {
			first = r.stdout
		} else if r.stdout != first {
			t.Error("the invocations printed different tokens")
		}
	}
	t.Logf("4 invocations at once in worker mode: %d POST(s) at the worker, %d request(s) at the provider", posts.Load(), demo.Count())
	if n := posts.Load(); n != 1 {
		t.Errorf("POSTs at the worker for 4 invocations at once: got %d, want 1", n)
	}
	if r := command(t, bin, home, env, "token")(); r.code != 0 || r.stdout != first || posts.Load() != 1 {
		t.Errorf("5th: got %d %q with %d POSTs, want the same token and no POST", r.code, r.stderr, posts.Load())
	}
	d := command(t, bin, home, nil, "decode", strings.TrimSpace(first))()
	if !strings.Contains(d.stdout, `"provider": "aluma"`) {
		t.Errorf("mode pass: the token is not the provider's:\n%s", d.stdout)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}

	bad := command(t, bin, t.TempDir(), map[string]string{"TOKENHELPER_WORKER": w.URL + "/token", "TOKENHELPER_ORIGIN": "https://evil.example"}, "token")()
	if bad.code != 3 || bad.stdout != "" || !strings.Contains(bad.stderr, "origin_not_allowed (HTTP 403)") {
		t.Errorf("wrong origin: got %d %q %q, want 3, nothing on stdout, origin_not_allowed", bad.code, bad.stdout, bad.stderr)
	}
}
