//go:build unix

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// devConfigDir is where devConfig writes, inside the worker's directory
// (below .wrangler/, which git ignores and wrangler owns anyway).
var devConfigDir = filepath.Join(".wrangler", "dev")

// devConfig writes WORKER_DIR/.wrangler/dev/wrangler.json: the worker's
// wrangler.jsonc without its custom build, for `wrangler dev --config`,
// and links .dev.vars beside it to WORKER_DIR/.dev.vars (wrangler reads
// .dev.vars from its configuration's directory). It returns the file's
// absolute path.
//
// Why: ./build.sh dev has built the bundle already, and wrangler 4 runs
// build.command once at start and again when its watcher of watch_dir is
// ready ("The file cmd,entry,apiproxy,mint changed, restarting build..."),
// so that the bundle was built three times before the worker answered.
// Without the custom build wrangler bundles build/worker.mjs once and
// reloads when ./build.sh build worker replaces it. main becomes an
// absolute path; the configuration holds no other relative path today
// (assets, rules or a tsconfig would need the same).
func devConfig(workerDir string) (string, error) {
	src := filepath.Join(workerDir, "wrangler.jsonc")
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(stripJSONC(b), &cfg); err != nil {
		return "", fmt.Errorf("%s: %v", src, err)
	}
	main, _ := cfg["main"].(string)
	if main == "" {
		return "", fmt.Errorf("%s: no main", src)
	}
	abs, err := filepath.Abs(workerDir)
	if err != nil {
		return "", err
	}
	cfg["main"] = filepath.Join(abs, main)
	delete(cfg, "build")
	delete(cfg, "$schema") // a path relative to the original
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(abs, devConfigDir) // absolute: wrangler runs in workerDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	header := []byte("// written by ./build.sh dev from ../../wrangler.jsonc, without its build; edit that one\n")
	path := filepath.Join(dir, "wrangler.json")
	if err := os.WriteFile(path, append(header, out...), 0o644); err != nil {
		return "", err
	}
	link := filepath.Join(dir, ".dev.vars")
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Symlink(filepath.Join("..", "..", ".dev.vars"), link); err != nil {
		return "", err
	}
	return path, nil
}

// stripJSONC turns JSON with comments (// and /* */) and trailing commas,
// as wrangler.jsonc may hold, into JSON. Strings are copied untouched.
func stripJSONC(b []byte) []byte {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			end := min(j+1, len(b))
			out.Write(b[i:end])
			i = end - 1
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out.WriteByte('\n')
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := strings.Index(string(b[i+2:]), "*/")
			if end < 0 {
				i = len(b)
			} else {
				i += end + 3
			}
			out.WriteByte(' ')
		case c == ']' || c == '}':
			// A trailing comma: drop the last comma if only space follows it.
			s := out.String()
			t := strings.TrimRight(s, " \t\r\n")
			if strings.HasSuffix(t, ",") {
				out.Reset()
				out.WriteString(t[:len(t)-1] + s[len(t):])
			}
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return []byte(out.String())
}
