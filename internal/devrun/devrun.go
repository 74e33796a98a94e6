//go:build unix

// Package devrun runs a Worker bundle in local workerd through `wrangler
// dev`, for the end-to-end tests, the benchmarks and the dev supervisor
// (internal/cmd/dev): a private copy of the bundle with its own
// wrangler.jsonc and .dev.vars, fresh ports (the inspector's too) or
// fixed ones, its own process group, and a bounded wait for the ready
// line.
package devrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BundleFiles are the files of a syumai/workers bundle.
var BundleFiles = []string{"worker.mjs", "forward.mjs", "calls.mjs", "runtime.mjs", "wasm_exec.js", "app.wasm"}

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

// FreePort returns a loopback port that was free a moment ago, chosen
// below the kernel's ephemeral range. A port that listening on :0 hands
// out comes from that range, which every outgoing connection on the
// machine draws from too: between the check and the server's own bind
// (workerd's, wrangler's, seconds later on a busy machine) a parallel
// test's connection could take it ("Address already in use").
func FreePort() (int, error) {
	lo, hi := belowEphemeral()
	for i := 0; i < 64 && hi > lo; i++ {
		p := lo + rand.IntN(hi-lo)
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// belowEphemeral is the range FreePort picks from: up to 12,000 ports
// below the start of the ephemeral range (Linux's
// ip_local_port_range; 32768 where it cannot be read), above 1024.
func belowEphemeral() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				hi = n
			}
		}
	}
	return max(1025, hi-12000), hi
}

// Process is one running `wrangler dev`.
type Process struct {
	// URL is where the worker answers; URLs, in bare workerd
	// (StartWorkerd), where each service does, in order.
	URL  string
	URLs []string
	cmd  *exec.Cmd
	log  syncBuffer
	done chan struct{}
	err  error // cmd.Wait's, set before done closes
}

// Options say where and how StartWith runs wrangler dev.
type Options struct {
	// Host is the address to listen on (default 127.0.0.1).
	Host string
	// Port and InspectorPort are the worker's and the inspector's ports;
	// 0 picks a free one.
	Port, InspectorPort int
	// Persist is the directory for local state (--persist-to), relative
	// to the worker's directory unless absolute.
	Persist string
	// Ready bounds the wait for the ready line (default 60 s).
	Ready time.Duration
	// Echo, when set, also receives every line wrangler prints, each
	// after EchoPrefix, as it comes (the log keeps them too).
	Echo       io.Writer
	EchoPrefix string
	// Config, when set, is the wrangler configuration file to use
	// (--config; default: the one in the worker's directory). wrangler
	// reads .dev.vars from that file's directory.
	Config string
	// Vars are set as plain-text vars (--var NAME:VALUE), over the
	// configuration's and .dev.vars' of the same name.
	Vars map[string]string
}

// Start runs wrangler dev in dir on 127.0.0.1 with fresh ports, persisting
// state to persist, and waits up to ready for it to serve. The process
// runs in its own group; call Stop to end it and its children.
func Start(wrangler, dir, persist string, ready time.Duration) (*Process, error) {
	return StartWith(context.Background(), wrangler, dir, Options{Persist: persist, Ready: ready})
}

// StartWith runs wrangler dev in dir as o says (a relative wrangler path
// is taken from the current directory) and waits for its ready
// line, up to o.Ready or until ctx ends (then it is stopped). The process
// runs in its own group; call Stop to end it and its children.
func StartWith(ctx context.Context, wrangler, dir string, o Options) (*Process, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Ready <= 0 {
		o.Ready = 60 * time.Second
	}
	for _, port := range []*int{&o.Port, &o.InspectorPort} {
		if *port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			*port = p
		}
	}
	if strings.ContainsRune(wrangler, filepath.Separator) && !filepath.IsAbs(wrangler) {
		// Relative to the caller's directory, not to dir.
		abs, err := filepath.Abs(wrangler)
		if err != nil {
			return nil, err
		}
		wrangler = abs
	}
	args := []string{"dev", "--local", "--ip", o.Host, "--port", fmt.Sprint(o.Port),
		"--inspector-port", fmt.Sprint(o.InspectorPort), "--persist-to", o.Persist, "--show-interactive-dev-session=false"}
	if o.Config != "" {
		args = append(args, "--config", o.Config)
	}
	names := make([]string, 0, len(o.Vars))
	for k := range o.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "--var", k+":"+o.Vars[k]) // split at the first colon
	}
	cmd := exec.Command(wrangler, args...)
	cmd.Dir = dir
	// CLOUDFLARE_CF_FETCH_ENABLED=false: miniflare's placeholder
	// Request.cf instead of fetching workers.cloudflare.com/cf.json at
	// start, which offline costs up to 3 s and prints a getaddrinfo stack
	// trace that reads like a failure (a local worker needs no real cf).
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "CI=true", "NO_COLOR=1", "FORCE_COLOR=0", "CLOUDFLARE_CF_FETCH_ENABLED=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{URL: "http://" + net.JoinHostPort(o.Host, fmt.Sprint(o.Port)), cmd: cmd, done: make(chan struct{})}
	// An *os.File, so that Wait returns when wrangler exits even while
	// workerd still holds the pipe.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	readyCh, logged := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			p.log.Write(append(sc.Bytes(), '\n'))
			if o.Echo != nil {
				fmt.Fprintf(o.Echo, "%s%s\n", o.EchoPrefix, sc.Bytes())
			}
			if strings.Contains(sc.Text(), "Ready on "+p.URL) {
				once.Do(func() { close(readyCh) })
			}
		}
		io.Copy(io.Discard, pr)
		pr.Close()
	}()
	go func() {
		p.err = cmd.Wait()
		// Whatever wrangler left in its group (workerd) goes with it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		close(p.done)
	}()
	timer := time.NewTimer(o.Ready)
	defer timer.Stop()
	select {
	case <-readyCh:
		return p, nil
	case <-p.done:
		select { // the last lines, once the group is gone
		case <-logged:
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("devrun: wrangler dev exited before it was ready (%v)%s", p.err, p.output(o))
	case <-timer.C:
		p.Stop()
		return nil, fmt.Errorf("devrun: wrangler dev not ready after %v%s", o.Ready, p.output(o))
	case <-ctx.Done():
		p.Stop()
		return nil, ctx.Err()
	}
}

// output is wrangler's output for an error message: the log, unless it
// was echoed already.
func (p *Process) output(o Options) string {
	if o.Echo != nil {
		return " (its output is above)"
	}
	return ":\n" + p.Log()
}

// Done is closed once wrangler has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is wrangler's exit status once Done is closed (nil for a clean
// exit), and nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Pgid is the id of wrangler's process group (its own pid).
func (p *Process) Pgid() int { return p.cmd.Process.Pid }

// Log returns what wrangler printed so far.
func (p *Process) Log() string { return p.log.String() }

// Stop ends the process group: SIGTERM, then SIGKILL after 5 s; once
// wrangler has exited, anything left in its group is killed. It is safe
// to call more than once.
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
