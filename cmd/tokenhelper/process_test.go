package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// binary is the command built once for the tests that run it as a
// process, as a user would.
var binary struct {
	once sync.Once
	path string
	err  error
}

func build(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "tokenhelper-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "tokenhelper")
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// home is a user's home and cache directories, empty at first.
type home struct {
	dir   string
	cache string // $XDG_CACHE_HOME/tokenhelper
}

func newHome(t *testing.T) home {
	d := t.TempDir()
	return home{dir: d, cache: filepath.Join(d, "cache", "tokenhelper")}
}

// command is the binary with env as its whole environment (nothing of
// the test's own), HOME and XDG_CACHE_HOME in h.
func (h home) command(t *testing.T, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(build(t), args...)
	cmd.Env = []string{"HOME=" + h.dir, "XDG_CACHE_HOME=" + filepath.Join(h.dir, "cache")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// result is a finished process.
type result struct {
	code           int
	stdout, stderr string
}

func (h home) start(t *testing.T, env map[string]string, args ...string) func() result {
	cmd := h.command(t, env, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() result {
		err := cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		r := result{cmd.ProcessState.ExitCode(), out.String(), errOut.String()}
		noSecrets(t, "the output of "+strings.Join(args, " "), r.stdout+r.stderr)
		return r
	}
}

func (h home) run(t *testing.T, env map[string]string, args ...string) result {
	return h.start(t, env, args...)()
}

func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for name, v := range map[string]string{"the client secret": secret, "the password": password} {
		if strings.Contains(s, v) {
			t.Errorf("%s holds %s", where, name)
		}
	}
}

// checkCache checks the cache's modes (0700, files 0600) and that no file
// holds a secret, and returns how many token files it holds.
func (h home) checkCache(t *testing.T) int {
	t.Helper()
	fi, err := os.Stat(h.cache)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, want 0700", h.cache, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(h.cache)
	n := 0
	for _, e := range entries {
		p := filepath.Join(h.cache, e.Name())
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		noSecrets(t, "cache file "+e.Name(), string(b))
		if strings.HasSuffix(e.Name(), ".json") {
			n++
		}
	}
	return n
}

// slow delays every token answer, so that processes started together
// are all waiting while the first one renews.
func slow(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		h.ServeHTTP(w, r)
	})
}

func TestProcessesShareOneRequest(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(slow(demo, 300*time.Millisecond))
	defer srv.Close()
	h := newHome(t)
	env := demoEnv(srv.URL, "alphaus-ripple")

	var waits []func() result
	for range 4 {
		waits = append(waits, h.start(t, env, "token"))
	}
	var tokens []string
	for _, wait := range waits {
		r := wait()
		if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("got %d %q %q, want 0 and one line on stdout", r.code, r.stdout, r.stderr)
		}
		tokens = append(tokens, r.stdout)
	}
	t.Logf("4 processes started at once with an empty cache: %d request(s) at the provider", demo.Count())
	if n := demo.Count(); n != 1 {
		t.Errorf("requests for 4 processes started at once: got %d, want 1", n)
	}
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Error("the processes printed different tokens")
		}
	}
	fifth := h.run(t, env, "token")
	if fifth.code != 0 || fifth.stdout != tokens[0] {
		t.Errorf("5th: got %d %q, want the same token", fifth.code, fifth.stderr)
	}
	t.Logf("a 5th process: %d further request(s)", demo.Count()-1)
	if n := demo.Count(); n != 1 {
		t.Errorf("requests after a 5th process: got %d, want 1", n)
	}
	if n := h.checkCache(t); n != 1 {
		t.Errorf("token files: got %d, want 1", n)
	}
	if r := h.run(t, env, "logout"); r.code != 0 {
		t.Errorf("logout: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(h.cache); !os.IsNotExist(err) {
		t.Errorf("after logout: %v, want the cache gone", err)
	}
}

// TestProcessWrongSecret: one cache directory; the right secret gets a
// token, a wrong one (a rotated-away secret, a typo) is tried (exit 3
// invalid_client after exactly one request, nothing on stdout) instead
// of being handed the right one's cached token, and does not evict it:
// the right secret again gets the cached token without a request. The
// cache files hold neither secret, and the fingerprint key is 0600.
func TestProcessWrongSecret(t *testing.T) {
	const wrong = "wrong-secret-of-some-length"
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	h := newHome(t)
	right := demoEnv(srv.URL, "aluma")
	bad := demoEnv(srv.URL, "aluma")
	bad["TOKENHELPER_CLIENT_SECRET"] = wrong

	first := h.run(t, right, "token")
	if first.code != 0 || first.stdout == "" || demo.Count() != 1 {
		t.Fatalf("right secret: got %d %q %q after %d requests, want a token after 1", first.code, first.stdout, first.stderr, demo.Count())
	}
	for i := range 2 {
		before := demo.Count()
		r := h.run(t, bad, "token", "-v")
		want := 1 // the first wrong invocation asks; the second repeats its backoff
		if i == 1 {
			want = 0
		}
		if r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, "invalid_client") || demo.Count()-before != want {
			t.Errorf("wrong secret, invocation %d: got %d %q %q after %d request(s), want 3, nothing on stdout, invalid_client after %d",
				i+1, r.code, r.stdout, r.stderr, demo.Count()-before, want)
		}
		if strings.Contains(r.stderr, wrong) {
			t.Error("the wrong secret is on stderr")
		}
	}
	before := demo.Count()
	again := h.run(t, right, "token")
	if again.code != 0 || again.stdout != first.stdout || demo.Count() != before {
		t.Errorf("right secret again: got %d %q with %d request(s), want the cached token and none", again.code, again.stderr, demo.Count()-before)
	}
	t.Logf("one cache directory: right secret %d request, wrong secret 1 then 0 (backoff), right again %d", 1, demo.Count()-before)
	h.checkCache(t)
	for _, e := range must(os.ReadDir(h.cache)) {
		if b, _ := os.ReadFile(filepath.Join(h.cache, e.Name())); strings.Contains(string(b), wrong) {
			t.Errorf("%s holds the wrong secret", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(h.cache, "fingerprint.key")); err != nil {
		t.Errorf("the fingerprint key: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestProcessBackoffKeptBetweenInvocations(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	if err := demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 503, RetryAfter: 30, Times: 100}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(demo)
	defer srv.Close()
	h := newHome(t)
	env := demoEnv(srv.URL, "alluvial")
	first := h.run(t, env, "token")
	if first.code != 3 || first.stdout != "" || !strings.Contains(first.stderr, "temporarily_unavailable (HTTP 503)") {
		t.Errorf("first: got %d %q %q", first.code, first.stdout, first.stderr)
	}
	sent := demo.Count()
	second := h.run(t, env, "token")
	if second.code != 3 || second.stdout != "" || !strings.Contains(second.stderr, "temporarily_unavailable (HTTP 503)") ||
		!strings.Contains(second.stderr, "repeated without a new request; next attempt in 2") {
		t.Errorf("second, within the window: got %d %q %q, want the failure repeated with about 30 s to go", second.code, second.stdout, second.stderr)
	}
	t.Logf("503 with Retry-After 30: first invocation %d request(s), the second %d; it said: %s", sent, demo.Count()-sent, strings.TrimSpace(second.stderr))
	if demo.Count() != sent {
		t.Errorf("the second invocation sent %d request(s), want none", demo.Count()-sent)
	}
	h.checkCache(t)
}

func TestProcessEveryProfile(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	h := newHome(t)
	for _, p := range demoprovider.Profiles() {
		t.Run(p, func(t *testing.T) {
			// Each profile's settings side by side, as TOKENHELPER_<PROFILE>_*.
			env := map[string]string{}
			name := strings.ToUpper(strings.ReplaceAll(p, "-", "_"))
			for k, v := range demoEnv(srv.URL, p) {
				env[strings.Replace(k, "TOKENHELPER_", "TOKENHELPER_"+name+"_", 1)] = v
			}
			before := demo.Count()
			r := h.run(t, env, "token", "--profile", p)
			if r.code != 0 {
				t.Fatalf("got %d %q", r.code, r.stderr)
			}
			d := h.run(t, nil, "decode", strings.TrimSpace(r.stdout))
			if !strings.Contains(d.stdout, `"provider": "`+p+`"`) {
				t.Errorf("the token is not %s's:\n%s", p, d.stdout)
			}
			if demo.Count() != before+1 {
				t.Errorf("requests: got %d, want 1", demo.Count()-before)
			}
		})
	}
	t.Run("password grant", func(t *testing.T) {
		env := demoEnv(srv.URL, "alphaus-wave")
		env["TOKENHELPER_GRANT_TYPE"] = "password"
		env["TOKENHELPER_USERNAME"] = demoprovider.DefaultUsername
		env["TOKENHELPER_PASSWORD"] = password
		r := h.run(t, env, "token", "--json")
		if r.code != 0 || !strings.Contains(r.stdout, `"refresh_token": "****"`) {
			t.Errorf("got %d %q %q", r.code, r.stdout, r.stderr)
		}
	})
	h.checkCache(t)
}

func TestProcessRenewsWithTheRefreshToken(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{Lifetime: time.Second})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	h := newHome(t)
	env := demoEnv(srv.URL, "alphaus-ripple")
	first := h.run(t, env, "token")
	time.Sleep(1200 * time.Millisecond) // past the expiry
	second := h.run(t, env, "token")
	if first.code != 0 || second.code != 0 || first.stdout == second.stdout {
		t.Fatalf("got %d %d, want two tokens", first.code, second.code)
	}
	reqs := demo.Requests()
	if len(reqs) != 2 || reqs[1].Fields["grant_type"] != "refresh_token" || reqs[1].Fields["refresh_token"] != demoprovider.RedactedOK {
		t.Errorf("requests: got %+v, want the second a refresh_token grant", reqs)
	}
}

// TestProcessUsageErrors: a usage error is one line on stderr that
// points at the help, nothing on stdout, exit status 2, as the README's
// table says; a secret given as a flag is refused without being repeated
// and points at the variable and the -file flag. -h is the command's
// help on stdout with one Usage line.
func TestProcessUsageErrors(t *testing.T) {
	h := newHome(t)
	for _, tc := range []struct {
		args []string
		want []string // in the one line
	}{
		{nil, []string{"a command is needed", "(see tokenhelper help)"}},
		{[]string{"tokne"}, []string{`unknown command "tokne"`, "(see tokenhelper help)"}},
		{[]string{"token", "--client-secret", secret}, []string{"tokenhelper: token: --client-secret is not a flag", "TOKENHELPER_CLIENT_SECRET", "--client-secret-file", "(see tokenhelper help token)"}},
		{[]string{"token", "--client-secret=" + secret}, []string{"--client-secret is not a flag", "--client-secret-file"}},
		{[]string{"request", "--password", password}, []string{"tokenhelper: request: --password is not a flag", "TOKENHELPER_PASSWORD", "--password-file"}},
		{[]string{"token", "--caller-token", "x"}, []string{"--caller-token is not a flag", "--caller-token-file"}},
		{[]string{"token", "--bogus"}, []string{"tokenhelper: token: unknown flag --bogus (see tokenhelper help token)"}},
		{[]string{"token", "--timeout", "soon-" + secret}, []string{"tokenhelper: token: --timeout has an invalid value"}},
		{[]string{"token", "--timeout"}, []string{"--timeout needs a value"}},
		{[]string{"token", "extra"}, []string{"tokenhelper: token: takes no arguments"}},
		{[]string{"decode", "a", "b"}, []string{"tokenhelper: decode: takes one JWT"}},
		{[]string{"cache", "nope"}, []string{"tokenhelper: cache: clear or dir"}},
		{[]string{"help", "nope"}, []string{`no command "nope"`}},
	} {
		// The subtest's name is printed by go test -v: the secrets in the
		// arguments are replaced there (build.sh searches the log for them).
		name := strings.NewReplacer(secret, "SECRET", password, "PASSWORD").Replace(strings.Join(tc.args, " "))
		t.Run(name, func(t *testing.T) {
			r := h.run(t, nil, tc.args...) // noSecrets checks the output
			if r.code != exitConfig || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "tokenhelper: ") {
				t.Fatalf("got %d %q %q, want 2, nothing on stdout, one line on stderr", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
	for _, args := range [][]string{{"token", "-h"}, {"help", "token"}, {"request", "--help"}} {
		r := h.run(t, nil, args...)
		if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "Usage:") != 1 || !strings.Contains(r.stdout, "-client-secret-file") {
			t.Errorf("%v: got %d, stderr %q, stdout\n%s\nwant 0 and the flags on stdout under one Usage line", args, r.code, r.stderr, r.stdout)
		}
	}
}

// TestProcessDPoPSettings: the DPoP settings' mistakes are one line and
// exit 2 before anything is sent, naming the variable, never the key.
func TestProcessDPoPSettings(t *testing.T) {
	h := newHome(t)
	custom := map[string]string{"TOKENHELPER_TOKEN_URL": "https://127.0.0.1:1/token", "TOKENHELPER_CLIENT_ID": "c"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(custom)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{with("TOKENHELPER_DPOP", "maybe"), nil, `TOKENHELPER_DPOP must be "on" or "off"`},
		{with("TOKENHELPER_DPOP_KEY", "k"), nil, "TOKENHELPER_DPOP_KEY is set without TOKENHELPER_DPOP=on"},
		{with("TOKENHELPER_DPOP", "on", "TOKENHELPER_DPOP_KEY", "-----BEGIN PRIVATE KEY-----\nsecretish\n-----END PRIVATE KEY-----\n"), nil, "TOKENHELPER_DPOP_KEY must be a PEM private key"},
		{map[string]string{"TOKENHELPER_PROVIDER": "aluma", "TOKENHELPER_CLIENT_ID": "c", "TOKENHELPER_CLIENT_SECRET": secret, "TOKENHELPER_DPOP": "on"}, nil, "TOKENHELPER_DPOP is for custom providers and workers only"},
		{custom, []string{"--url", "http://api.example.com/x"}, "--url must be an absolute https URL"},
		{custom, []string{"--url", "https://api.example.com/x", "--method", "GE T"}, "--method must be an HTTP method"},
	} {
		r := h.run(t, tc.env, append([]string{"token"}, tc.args...)...)
		if r.code != exitConfig || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "secretish") {
			t.Errorf("%v %v: got %d %q %q, want 2 and one line with %q", tc.env, tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// request shows where the proof goes, masked (nothing is sent).
	r := h.run(t, with("TOKENHELPER_DPOP", "on"), "request")
	if r.code != 0 || !strings.Contains(r.stdout, "\nDpop: ****\n") {
		t.Errorf("request with DPOP on: got %d %q %q, want the DPoP header masked", r.code, r.stdout, r.stderr)
	}
}
