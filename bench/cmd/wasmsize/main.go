// Command wasmsize prints what takes the room in a Go WebAssembly binary:
// the code section's function bodies summed by Go package (from the
// binary's name section), and the data section (type data, the pclntab,
// strings). It answers "what links into tokenhelper.wasm" for the size
// goals of issue 20 (the browser wasm <= 0.8 MB brotli). Build the binary
// without -s -w (the name section is what -s strips), the same flags
// otherwise:
//
//	GOOS=js GOARCH=wasm go build -trimpath -o /tmp/th.wasm ./wasm
//	go -C bench run ./cmd/wasmsize [-top 40] /tmp/th.wasm
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 40, "packages to print")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] FILE.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		err = report(b, *top)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

// reader reads LEB128 numbers and names from a section.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errors.New("bad LEB128 number"), nil
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.err, r.b = errors.New("truncated"), nil
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func report(b []byte, top int) error {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return errors.New("not a WebAssembly binary")
	}
	var (
		imported int   // imported functions come first in the index space
		bodies   []int // code section: body size per defined function
		names    = map[int]string{}
		sections = map[byte]int{}
	)
	r := &reader{b: b[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.bytes(1)
		if r.err != nil {
			break
		}
		sec := &reader{b: r.bytes(r.u())}
		sections[id[0]] += len(sec.b)
		switch id[0] {
		case 2: // imports
			for n := sec.u(); n > 0 && sec.err == nil; n-- {
				sec.bytes(sec.u()) // module
				sec.bytes(sec.u()) // name
				switch kind := sec.bytes(1); kind[0] {
				case 0: // function
					sec.u()
					imported++
				case 1: // table
					sec.bytes(1)
					limits(sec)
				case 2: // memory
					limits(sec)
				case 3: // global
					sec.bytes(2)
				}
			}
		case 10: // code
			for n := sec.u(); n > 0 && sec.err == nil; n-- {
				size := sec.u()
				sec.bytes(size)
				bodies = append(bodies, size)
			}
		case 0: // custom: the name section's function names
			if string(sec.bytes(sec.u())) != "name" {
				continue
			}
			for len(sec.b) > 0 && sec.err == nil {
				sub := sec.bytes(1)
				body := &reader{b: sec.bytes(sec.u())}
				if sub == nil || sub[0] != 1 {
					continue
				}
				for n := body.u(); n > 0 && body.err == nil; n-- {
					i := body.u()
					names[i] = string(body.bytes(body.u()))
				}
			}
		}
		if sec.err != nil {
			return sec.err
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(names) == 0 {
		return errors.New("no name section: build without -ldflags=-s")
	}
	per := map[string]int{}
	code := 0
	for i, size := range bodies {
		per[pkgOf(names[imported+i])] += size
		code += size
	}
	pkgs := make([]string, 0, len(per))
	for p := range per {
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return per[pkgs[i]] > per[pkgs[j]] })
	fmt.Printf("%d bytes: code %d (%d functions), data %d, names and other custom sections %d\n",
		len(b), code, len(bodies), sections[11], sections[0])
	for i, p := range pkgs {
		if i == top {
			break
		}
		fmt.Printf("%9d  %5.1f%%  %s\n", per[p], 100*float64(per[p])/float64(code), p)
	}
	return nil
}

func limits(r *reader) {
	if f := r.bytes(1); f != nil {
		r.u()
		if f[0]&1 != 0 {
			r.u()
		}
	}
}

// pkgOf is the package of a function name as Go's linker writes it into
// the name section for wasm: the import path with its slashes (and some
// other characters) made underscores, then a dot ("encoding_json.Marshal",
// "github.com_tokenhelper_tokenhelper.(*Client).Do" as
// "github.com_tokenhelper_tokenhelper.__Client_.Do").
var domain = regexp.MustCompile(`^[a-z0-9_]*?[a-z0-9-]+\.(com|org|net|io|dev|in)_`)

func pkgOf(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	start := 0
	if m := domain.FindStringIndex(name); m != nil {
		start = m[1] // past a domain's dot: github.com_…, vendor_golang.org_…
	}
	if dot := strings.IndexByte(name[start:], '.'); dot >= 0 {
		return name[:start+dot]
	}
	return name
}
