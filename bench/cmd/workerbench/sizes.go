//go:build unix

package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Size is one .wasm, raw and compressed (brotli -1 when the brotli
// command is missing).
type Size struct {
	Name   string `json:"name"`
	Note   string `json:"note,omitempty"`
	Raw    int64  `json:"raw_bytes"`
	Gzip   int64  `json:"gzip_bytes"`
	Brotli int64  `json:"brotli_bytes"`
}

// Sizes is the bundle and the dependency probes.
type Sizes struct {
	Bundle   Size   `json:"bundle"`
	Glue     int64  `json:"glue_js_bytes"`
	WasmOpt  *Size  `json:"wasm_opt_oz,omitempty"`
	Probes   []Size `json:"probes"`
	Compress string `json:"compression"`
}

// probes are built in this order; each imports what the one before does.
var probes = []struct{ pkg, name string }{
	{"./worker/probes/jsonly", "syscall/js only"},
	{"./worker/probes/jwt", "+ golang-jwt"},
	{"./worker/probes/json", "+ encoding/json"},
	{"./worker/probes/nethttp", "+ net/http via syumai/workers"},
}

func measureSizes(bundle string, wasmOpt bool) (*Sizes, error) {
	s := &Sizes{Compress: "gzip -9 (compress/gzip BestCompression), brotli -q 11"}
	app := filepath.Join(bundle, "app.wasm")
	var err error
	if s.Bundle, err = sizeOf(app, "worker app.wasm", "the full worker (-ldflags='-s -w')"); err != nil {
		return nil, err
	}
	for _, f := range []string{"worker.mjs", "forward.mjs", "calls.mjs", "runtime.mjs", "wasm_exec.js"} {
		if fi, err := os.Stat(filepath.Join(bundle, f)); err == nil {
			s.Glue += fi.Size()
		}
	}
	tmp, err := os.MkdirTemp("", "workerbench-size-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if wo, err := exec.LookPath("wasm-opt"); err == nil && wasmOpt {
		out := filepath.Join(tmp, "oz.wasm")
		cmd := exec.Command(wo, "-Oz", "--enable-bulk-memory", "--enable-sign-ext", "--enable-nontrapping-float-to-int",
			"--enable-mutable-globals", app, "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "workerbench: wasm-opt failed (skipped): %v\n%s", err, b)
		} else if z, err := sizeOf(out, "worker app.wasm after wasm-opt -Oz", "binaryen "+wo); err == nil {
			s.WasmOpt = &z
		}
	}
	// Build the probes one by one, compress them side by side (brotli -q
	// 11 takes seconds a file).
	outs := make([]string, len(probes))
	for i, p := range probes {
		outs[i] = filepath.Join(tmp, filepath.Base(p.pkg)+".wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", outs[i], p.pkg)
		cmd.Dir = "bench" // the probes are in the bench module; run from the repository root
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", p.pkg, err, b)
		}
	}
	s.Probes = make([]Size, len(probes))
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Probes[i], errs[i] = sizeOf(outs[i], p.name, p.pkg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.Probes = append(s.Probes, Size{Name: "+ tokenhelper core, worker handler, crypto (the worker)", Note: "app.wasm",
		Raw: s.Bundle.Raw, Gzip: s.Bundle.Gzip, Brotli: s.Bundle.Brotli})
	return s, nil
}

func sizeOf(path, name, note string) (Size, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Size{}, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	s := Size{Name: name, Note: note, Raw: int64(len(b)), Gzip: int64(gz.Len()), Brotli: -1}
	if br, err := exec.LookPath("brotli"); err == nil {
		if out, err := exec.Command(br, "-c", "-q", "11", path).Output(); err == nil {
			s.Brotli = int64(len(out))
		}
	}
	return s, nil
}

func printSizes(s *Sizes) {
	row := func(z Size, prev *Size) {
		add := ""
		if prev != nil {
			add = fmt.Sprintf("%+9.2f MB", float64(z.Raw-prev.Raw)/1e6)
		}
		fmt.Printf("%-58s %8.2f MB %8.2f MB %8.2f MB  %s\n", z.Name, float64(z.Raw)/1e6, float64(z.Gzip)/1e6, float64(z.Brotli)/1e6, add)
	}
	fmt.Printf("%-58s %11s %11s %11s  %s\n", "", "raw", "gzip", "brotli", "adds (raw)")
	row(s.Bundle, nil)
	if s.WasmOpt != nil {
		row(*s.WasmOpt, &s.Bundle)
	}
	fmt.Printf("glue JS (worker.mjs, forward.mjs, calls.mjs, runtime.mjs, wasm_exec.js): %d bytes\n", s.Glue)
	fmt.Println("what each dependency adds:")
	for i, p := range s.Probes {
		var prev *Size
		if i > 0 {
			prev = &s.Probes[i-1]
		}
		row(p, prev)
	}
}
