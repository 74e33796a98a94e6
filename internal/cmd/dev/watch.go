//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// watchEvery is how often watchSources looks at the sources.
const watchEvery = time.Second

// workerSources lists the directories of the worker's sources: every
// package of the repository that worker/cmd/worker is built from
// (GOOS=js GOARCH=wasm, as the bundle is), and its entry module.
func workerSources(ctx context.Context) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./worker/cmd/worker")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	dirs := []string{filepath.Join(root, "worker", "entry")}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, root+string(filepath.Separator)) || d == root {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// stamp sums up the .go and .mjs files of dirs (names, sizes, times), so
// that any edit, new file or removal changes it.
func stamp(dirs []string) string {
	var b strings.Builder
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if n := e.Name(); !strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, ".mjs") {
				continue
			}
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s/%s %d %d\n", d, e.Name(), fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

// buildCommand is build.command of the worker's wrangler.jsonc ("" when
// it has none): what wrangler ran on a change, run here instead.
func buildCommand(workerDir string) string {
	b, err := os.ReadFile(filepath.Join(workerDir, "wrangler.jsonc"))
	if err != nil {
		return ""
	}
	var cfg struct {
		Build struct{ Command string } `json:"build"`
	}
	json.Unmarshal(stripJSONC(b), &cfg)
	return cfg.Build.Command
}

// watchSources runs command (sh -c, in workerDir) whenever a source of
// the worker changes, until ctx ends; the running wrangler dev reloads
// once the bundle in build/ is replaced. It replaces wrangler's own
// watch of build.watch_dir, which saw only some of these directories and
// rebuilt once more at start (see devConfig). Builds run one at a time;
// their output goes to w after "build | ".
func watchSources(ctx context.Context, logger *log.Logger, workerDir, command string, w io.Writer) {
	dirs, err := workerSources(ctx)
	if err != nil {
		if ctx.Err() == nil {
			logger.Printf("worker: not watching the sources: %v", err)
		}
		return
	}
	last := stamp(dirs)
	logger.Printf("worker: watching %d source directories; a change runs %q", len(dirs), command)
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := stamp(dirs)
		if now == last {
			continue
		}
		last = now
		logger.Print("worker: a source changed; rebuilding")
		start := time.Now()
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		cmd.Dir = workerDir
		// DEV_BUILD: build.sh may skip what only a deploy needs (the gzip
		// size of the bundle).
		cmd.Env = append(os.Environ(), "DEV_BUILD=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		pw := prefixWriter{w: w, prefix: "build | "}
		cmd.Stdout, cmd.Stderr = &pw, &pw
		if err := cmd.Run(); err != nil {
			if ctx.Err() == nil {
				logger.Printf("worker: the build failed (%v); the worker serves the previous bundle", err)
			}
			continue
		}
		logger.Printf("worker: rebuilt in %v; wrangler reloads it", time.Since(start).Round(100*time.Millisecond))
	}
}

// prefixWriter writes each line after prefix.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := strings.IndexByte(string(p.partial), '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i])
		p.partial = p.partial[i+1:]
	}
}
