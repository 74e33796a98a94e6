package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readBanner reads stdout lines up to the "listening on" line and returns
// them and the base URL.
func readBanner(t *testing.T, r io.Reader) (lines []string, base string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if b, ok := strings.CutPrefix(line, "listening on "); ok {
			return lines, b
		}
	}
	t.Fatalf("no listening line in %q (%v)", lines, sc.Err())
	return nil, ""
}

type started struct {
	banner []string
	base   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, args []string, env map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, pw, s.stderr)
		pw.Close()
		s.done <- err
	}()
	s.banner, s.base = readBanner(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func (s *started) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunServesAndLogs(t *testing.T) {
	s := start(t, []string{"-addr", "127.0.0.1:0", "-lifetime", "1h"}, nil)
	if strings.HasSuffix(s.base, ":0") || !strings.HasPrefix(s.base, "http://127.0.0.1:") {
		t.Fatalf("base %q", s.base)
	}
	banner := strings.Join(s.banner, "\n")
	for _, p := range demoprovider.Profiles() {
		if !strings.Contains(banner, p) || !strings.Contains(banner, s.base+demoprovider.Path(p)) {
			t.Errorf("banner lacks %s: %s", p, banner)
		}
	}
	for _, want := range []string{"client id: demo-client", "demo secret (public, for local use only): " + demoprovider.DefaultClientSecret} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q", want)
		}
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-client"}, "client_secret": {demoprovider.DefaultClientSecret}}
	resp, err := http.Post(s.base+demoprovider.Path("aluma"), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok.AccessToken == "" || tok.ExpiresIn != 3600 {
		t.Fatalf("token: %d %+v %v", resp.StatusCode, tok, err)
	}
	form.Set("client_secret", "wrong-secret-value")
	form.Set("grant_type", "weird-grant-value")
	resp, err = http.Post(s.base+demoprovider.Path("aluma"), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	s.stop(t)
	logs := s.stderr.String()
	for _, want := range []string{"aluma grant_type=client_credentials status=200", "aluma grant_type=other status=400 error=unsupported_grant_type"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{demoprovider.DefaultClientSecret, "wrong-secret-value", "weird-grant-value", "demo-client"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds field value %q:\n%s", secret, logs)
		}
	}
}

func TestRunHidesCustomSecrets(t *testing.T) {
	const secret, password = "env-secret-123456", "flag-password-987"
	s := start(t, []string{"-addr", "127.0.0.1:0", "-quiet", "-password", password},
		map[string]string{"DEMO_CLIENT_SECRET": secret})
	banner := strings.Join(s.banner, "\n")
	if strings.Contains(banner, secret) || strings.Contains(banner, password) || strings.Contains(banner, "public, for local use only") {
		t.Errorf("banner shows a non-default secret:\n%s", banner)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-client"}, "client_secret": {secret}}
	resp, err := http.Post(s.base+demoprovider.Path("aluma"), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the secret from DEMO_CLIENT_SECRET was not used: %d", resp.StatusCode)
	}
	s.stop(t)
	if got := s.stderr.String(); got != "" {
		t.Errorf("-quiet logged %q", got)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-lifetime", "0s"}, {"-nope"}, {"extra"}, {"-client-id", ""}, {"-addr", "256.0.0.1:99999"},
	} {
		var stderr syncBuffer
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, &stderr)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// -help must not print a secret taken from the environment.
	var stderr syncBuffer
	err := run(context.Background(), []string{"-help"}, func(string) string { return "env-secret-xyz" }, io.Discard, &stderr)
	if err == nil || strings.Contains(stderr.String(), "env-secret-xyz") {
		t.Errorf("-help: %v\n%s", err, stderr.String())
	}
}

// TestSignal runs the real main in a child process and stops it with
// SIGTERM and SIGINT.
func TestSignal(t *testing.T) {
	if os.Getenv("DEMOPROVIDER_TEST_MAIN") == "1" {
		os.Args = append([]string{"demoprovider"}, strings.Fields(os.Getenv("DEMOPROVIDER_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSignal$")
			cmd.Env = append(os.Environ(), "DEMOPROVIDER_TEST_MAIN=1", "DEMOPROVIDER_TEST_ARGS=-addr 127.0.0.1:0 -quiet")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			_, base := readBanner(t, stdout)
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			resp, err := http.Get(base + demoprovider.HealthPath)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after %v: %v", sig, err)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("no exit after %v", sig)
			}
		})
	}
}
