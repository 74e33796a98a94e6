//go:build !(js && wasm)

package bundlers_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the processes the tests start.
const (
	buildTimeout    = 2 * time.Minute  // npm install, npm run build, node
	devStartTimeout = 30 * time.Second // Vite's dev server, until it prints its URL
)

// command is name args in dir, in a process group of its own, so that
// killing the group stops what npm starts (sh, node, esbuild's service);
// extra is added to the test's environment.
func command(dir string, extra []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0", "NPM_CONFIG_UPDATE_NOTIFIER=false",
		"NPM_CONFIG_FUND=false", "NPM_CONFIG_AUDIT=false")
	cmd.Env = append(cmd.Env, extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// killGroup ends cmd's process group: SIGTERM, then SIGKILL after grace.
func killGroup(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // what is left of the group, if anything
	<-done
}

// run runs name args in dir to its end within timeout and returns its
// stdout; it fails t with the output when the command fails or times out.
// extra may hold a secret (it goes to the environment, never to a log).
func run(t *testing.T, dir string, timeout time.Duration, extra []string, name string, args ...string) string {
	t.Helper()
	cmd := command(dir, extra, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	var err error
	go func() { err = cmd.Wait(); close(done) }()
	select {
	case <-done:
		killGroup(cmd, done, 0) // children it left behind
	case <-time.After(timeout):
		killGroup(cmd, done, 2*time.Second)
		err = errors.New("timed out after " + timeout.String())
	}
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s\n%s", name, args, filepath.Base(dir), err, excerpt(stdout.String()), excerpt(stderr.String()))
	}
	return stdout.String()
}

// lockedBuffer is a bytes.Buffer for a writer goroutine and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines of Vite's dev server: its banner and where it listens.
var (
	viteBanner = regexp.MustCompile(`VITE v(\d+)\.`)
	localURL   = regexp.MustCompile(`Local:\s+(http://127\.0\.0\.1:\d+/)`)
)

// startDev starts `npm run dev` in dir (Vite's dev server on a free
// loopback port) and returns its URL once it prints it, within
// devStartTimeout, failing t unless the banner names Vite major version
// wantMajor; the server's process group is killed when t ends.
func startDev(t *testing.T, dir, wantMajor string) string {
	t.Helper()
	// Vite 8 takes --port 0 for any free port, Vite 7 reads 0 as its
	// default 5173: pick one here (and fail, not wander, if it is taken).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := command(dir, nil, "npm", "run", "dev", "--", "--host", "127.0.0.1", "--port", port, "--strictPort")
	var output lockedBuffer
	cmd.Stderr = &output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("npm run dev: %v", err)
	}
	type started struct{ url, major string }
	found := make(chan started, 1)
	done := make(chan struct{})
	go func() {
		major := ""
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			output.Write(append(sc.Bytes(), '\n'))
			if m := viteBanner.FindSubmatch(sc.Bytes()); m != nil && major == "" {
				major = string(m[1])
			}
			if m := localURL.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case found <- started{string(m[1]), major}:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() { killGroup(cmd, done, 5*time.Second) })
	select {
	case s := <-found:
		if s.major != wantMajor {
			t.Fatalf("the dev server is Vite %q, want %s:\n%s", s.major, wantMajor, excerpt(output.String()))
		}
		return s.url
	case <-done:
		t.Fatalf("Vite's dev server exited before it listened:\n%s", excerpt(output.String()))
	case <-time.After(devStartTimeout):
		t.Fatalf("Vite's dev server printed no URL in %v:\n%s", devStartTimeout, excerpt(output.String()))
	}
	return ""
}

// serveApp installs c's app, then serves it: Vite's dev server, or
// `npm run build` and its dist/ on a static server (Go's, which sends
// .wasm as application/wasm). It returns the app's URL.
func (e *env) serveApp(t *testing.T, c appCase) string {
	t.Helper()
	dir := e.installApp(t, c)
	if c.dev {
		major := "8"
		if c.tools == "vite7" {
			major = "7"
		}
		return startDev(t, dir, major)
	}
	run(t, dir, buildTimeout, nil, "npm", "run", "build")
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "dist"))))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// runNode runs the Node app (node main.mjs) with the options in its
// environment and checks the token it prints.
func (e *env) runNode(t *testing.T, c appCase) {
	began := time.Now()
	dir := e.installApp(t, c)
	out := run(t, dir, buildTimeout, []string{"TOKENHELPER_EXAMPLE=" + e.options(c.name)}, "node", "main.mjs")
	var got struct {
		AccessToken string         `json:"access_token"`
		ExpiresAt   int64          `json:"expires_at"`
		Claims      map[string]any `json:"claims"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("node main.mjs printed no token JSON (%v)", err)
	}
	claims := e.checkToken(t, c.name, got.AccessToken)
	decoded, _ := json.Marshal(got.Claims)
	claims.sameAs(t, string(decoded))
	// expires_at is the client's clock plus expires_in: about exp, in ms.
	if exp, _ := claims["exp"].(float64); math.Abs(float64(got.ExpiresAt)-exp*1000) > 60e3 {
		t.Errorf("expires_at %d, want about the token's exp in ms (%.0f)", got.ExpiresAt, exp*1000)
	}
	t.Logf("node (%v): token after %v", c.layout, time.Since(began).Round(time.Millisecond))
}
