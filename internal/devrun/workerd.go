//go:build unix

package devrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// This file runs bundles in bare workerd: the workerd binary that ships in
// wrangler's npm package (@cloudflare/workerd-<platform>), with a config of
// our own, without wrangler dev's proxy in front of it (which adds its
// milliseconds to every request and does not pass a client's disconnect
// on). Each Service is a worker of its own, so an isolate of its own:
// none is derived from another with `inherit`, which would share one.

// Service is one worker service of a bare workerd config.
type Service struct {
	// Name is the service's name ([a-z][a-z0-9-]*).
	Name string
	// Src is the directory of the bundle and Files its modules, the
	// first the main module: .mjs and .js are ES modules, .wasm
	// WebAssembly modules (BundleFiles for ours).
	Src   string
	Files []string
	// Vars are the worker's text bindings. Bare workerd has no secret
	// store: the config that holds them is written 0600 in a private
	// directory.
	Vars map[string]string
	// Flags are compatibility flags beyond the default ones
	// (enable_request_signal, so that req.signal follows the client).
	Flags []string
	// Holder defines the TokenHolder Durable Object class of this
	// service's main module (SQLite-backed, on disk) and binds it as
	// TOKEN_HOLDER; HolderOf binds TOKEN_HOLDER to the class defined by
	// the service of that name instead (the one namespace that separate
	// isolates share).
	Holder   bool
	HolderOf string
	// Port is the loopback port it serves; 0 picks a free one.
	Port int
}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// WorkerdBinary returns the workerd binary of wrangler's npm package
// under root (the repository), or an error naming what is missing.
func WorkerdBinary(root string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(root, "worker", "node_modules", "@cloudflare", "workerd-*", "bin", "workerd"))
	if len(m) == 0 {
		return "", errors.New("devrun: no workerd binary under worker/node_modules/@cloudflare (npm ci in worker/)")
	}
	return m[0], nil
}

// StartWorkerd writes a config for services into dir and runs `workerd
// serve` on it, in its own process group, waiting up to ready for every
// service's port to accept connections; args are added to workerd's
// (--inspector-addr=127.0.0.1:9229 for a profile). The Process's URL is
// the first service's, URLs all of them in order; Stop ends it.
func StartWorkerd(ctx context.Context, binary, dir string, services []Service, ready time.Duration, args ...string) (*Process, error) {
	if len(services) == 0 {
		return nil, errors.New("devrun: no service to run")
	}
	urls := make([]string, len(services))
	for i := range services {
		s := &services[i]
		if !serviceName.MatchString(s.Name) || s.Name == "internet" || s.Name == "holder-disk" {
			return nil, fmt.Errorf("devrun: bad service name %q", s.Name)
		}
		if s.Port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			s.Port = p
		}
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", s.Port)
	}
	config, err := workerdConfig(dir, services)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "workerd.capnp")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, append([]string{"serve", path, "--verbose"}, args...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{URL: urls[0], URLs: urls, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		close(p.done)
	}()
	deadline := time.Now().Add(ready)
	for _, s := range services {
		addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.done:
				return nil, fmt.Errorf("devrun: workerd exited before it was ready (%v):\n%s", p.err, p.Log())
			case <-ctx.Done():
				p.Stop()
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				p.Stop()
				return nil, fmt.Errorf("devrun: workerd not serving %s after %v:\n%s", addr, ready, p.Log())
			}
		}
	}
	return p, nil
}

// workerdConfig is the Cap'n Proto text config of services: one worker,
// one socket each, all reaching the network through "internet" (loopback
// included: the tests' providers and APIs listen there).
func workerdConfig(dir string, services []Service) (string, error) {
	var b strings.Builder
	b.WriteString("using Workerd = import \"/workerd/workerd.capnp\";\n\nconst config :Workerd.Config = (\n  services = [\n")
	disk := false
	for i, s := range services {
		fmt.Fprintf(&b, "    (name = %q, worker = .worker%d),\n", s.Name, i)
		disk = disk || s.Holder
	}
	b.WriteString("    (name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"])),\n")
	if disk {
		holderDir := filepath.Join(dir, "holder-storage")
		if err := os.MkdirAll(holderDir, 0o700); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "    (name = \"holder-disk\", disk = (path = %s, writable = true)),\n", quote(holderDir))
	}
	b.WriteString("  ],\n  sockets = [\n")
	for _, s := range services {
		fmt.Fprintf(&b, "    (name = %q, address = \"127.0.0.1:%d\", http = (), service = %q),\n", "s-"+s.Name, s.Port, s.Name)
	}
	b.WriteString("  ],\n);\n")
	for i, s := range services {
		if err := workerConfig(&b, dir, i, s); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// workerConfig writes the worker of service i, copying its modules into
// dir/<name>/ (embed reads files relative to the config; a copy also keeps
// a rebuild from changing a running worker).
func workerConfig(b *strings.Builder, dir string, i int, s Service) error {
	fmt.Fprintf(b, "\nconst worker%d :Workerd.Worker = (\n  modules = [\n", i)
	if err := os.MkdirAll(filepath.Join(dir, s.Name), 0o755); err != nil {
		return err
	}
	for _, f := range s.Files {
		data, err := os.ReadFile(filepath.Join(s.Src, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, s.Name, f), data, 0o644); err != nil {
			return err
		}
		kind := "esModule"
		if strings.HasSuffix(f, ".wasm") {
			kind = "wasm"
		}
		fmt.Fprintf(b, "    (name = %q, %s = embed %s),\n", f, kind, quote(s.Name+"/"+f))
	}
	flags := append([]string{"enable_request_signal"}, s.Flags...)
	fmt.Fprintf(b, "  ],\n  compatibilityDate = \"2026-04-01\",\n  compatibilityFlags = [%s],\n  bindings = [\n", quoteAll(flags))
	names := make([]string, 0, len(s.Vars))
	for k := range s.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(b, "    (name = %s, text = %s),\n", quote(k), quote(s.Vars[k]))
	}
	switch {
	case s.Holder:
		b.WriteString("    (name = \"TOKEN_HOLDER\", durableObjectNamespace = \"TokenHolder\"),\n")
	case s.HolderOf != "":
		fmt.Fprintf(b, "    (name = \"TOKEN_HOLDER\", durableObjectNamespace = (className = \"TokenHolder\", serviceName = %q)),\n", s.HolderOf)
	}
	b.WriteString("  ],\n")
	if s.Holder {
		fmt.Fprintf(b, "  durableObjectNamespaces = [(className = \"TokenHolder\", uniqueKey = %q, enableSql = true)],\n", "tokenhelper-holder-"+s.Name)
		b.WriteString("  durableObjectStorage = (localDisk = \"holder-disk\"),\n")
	}
	b.WriteString("  globalOutbound = \"internet\",\n);\n")
	return nil
}

// quote is a Cap'n Proto string literal (its escapes are C's).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

// Runtimes are what LaunchIn runs a bundle in: "wrangler" (wrangler dev,
// the way `./build.sh dev` and most tests run the worker) and "workerd"
// (bare workerd, without wrangler dev's proxy).
var Runtimes = []string{"wrangler", "workerd"}

// LaunchIn runs files of src (the first the main module) with vars (plain
// values: a multi-line one is quoted here for wrangler's dotenv) in the
// named runtime under root (the repository), in dir, with a minute to get
// ready.
func LaunchIn(runtime, root, dir, src, name string, files []string, vars map[string]string) (*Process, error) {
	switch runtime {
	case "wrangler":
		dv := make(map[string]string, len(vars))
		for k, v := range vars {
			if strings.ContainsAny(v, "\n\r") {
				v = `"` + strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(v), "\r", ""), "\n", `\n`) + `"`
			}
			dv[k] = v
		}
		return Launch(filepath.Join(root, "worker", "node_modules", ".bin", "wrangler"), dir, src, name, files, dv)
	case "workerd":
		bin, err := WorkerdBinary(root)
		if err != nil {
			return nil, err
		}
		return StartWorkerd(context.Background(), bin, dir, []Service{{Name: name, Src: src, Files: files, Vars: vars}}, time.Minute)
	}
	return nil, fmt.Errorf("devrun: runtime %q: want one of %v", runtime, Runtimes)
}
