//go:build unix

// Package devrun runs a Worker bundle in local workerd through `wrangler
// dev`, for the end-to-end tests and the benchmark: a private copy of the
// bundle with its own wrangler.jsonc and .dev.vars, fresh ports (the
// inspector's too), its own process group, and a bounded wait for the
// ready line.
package devrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BundleFiles are the files of a syumai/workers bundle.
var BundleFiles = []string{"worker.mjs", "runtime.mjs", "wasm_exec.js", "app.wasm"}

// Dir prepares dir to run a worker: it copies files from src (nothing when
// files is empty), and writes wrangler.jsonc and a .dev.vars (mode 0600)
// holding vars.
func Dir(dir, src string, files []string, config string, vars map[string]string) error {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var dv strings.Builder
	for _, k := range names {
		if strings.ContainsAny(vars[k], "\n\r") {
			return errors.New("devrun: a value of " + k + " spans lines")
		}
		dv.WriteString(k + "=" + vars[k] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(config), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".dev.vars"), []byte(dv.String()), 0o600)
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is one running `wrangler dev`.
type Process struct {
	// URL is where the worker answers.
	URL  string
	cmd  *exec.Cmd
	log  syncBuffer
	done chan struct{}
}

// Start runs wrangler dev in dir, persisting state to persist, and waits
// up to ready for it to serve. The process runs in its own group; call
// Stop to end it and its children.
func Start(wrangler, dir, persist string, ready time.Duration) (*Process, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	insp, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(wrangler, "dev", "--local", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--inspector-port", fmt.Sprint(insp), "--persist-to", persist, "--show-interactive-dev-session=false")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "CI=true", "NO_COLOR=1", "FORCE_COLOR=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	readyCh := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			p.log.Write(append(sc.Bytes(), '\n'))
			if strings.Contains(sc.Text(), "Ready on "+p.URL) {
				once.Do(func() { close(readyCh) })
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { cmd.Wait(); pw.Close(); close(p.done) }()
	select {
	case <-readyCh:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("devrun: wrangler dev exited before it was ready:\n%s", p.Log())
	case <-time.After(ready):
		p.Stop()
		return nil, fmt.Errorf("devrun: wrangler dev not ready after %v:\n%s", ready, p.Log())
	}
}

// Log returns what wrangler printed so far.
func (p *Process) Log() string { return p.log.String() }

// Stop ends the process group: SIGTERM, then SIGKILL after 5 s. It is
// safe to call more than once.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Config is the smallest wrangler.jsonc that runs main (a file of the
// bundle) with observability off.
func Config(name, main string) string {
	return `{"name":"` + name + `","main":"./` + main + `","compatibility_date":"2026-04-01","observability":{"enabled":false}}`
}

// Launch prepares dir as Dir does, with Config(name, files[0]) for its
// wrangler.jsonc, and starts it (Start) persisting under dir/state, with
// a minute to get ready: the benchmarks' one way to run a worker.
func Launch(wrangler, dir, src, name string, files []string, vars map[string]string) (*Process, error) {
	if err := Dir(dir, src, files, Config(name, files[0]), vars); err != nil {
		return nil, err
	}
	return Start(wrangler, dir, filepath.Join(dir, "state"), 60*time.Second)
}
