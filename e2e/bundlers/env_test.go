//go:build !(js && wasm)

package bundlers_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// env is what every case shares: the tarball, one demo provider, one
// Chromium, and root, the directory the apps are copied into.
type env struct {
	// root holds the tarball in pack/ and, for each tools folder of the
	// cases, a folder whose node_modules is a symlink to that folder's
	// (the bundlers, found by Node's and npm's lookup from an app below
	// it) and which holds the cases' apps.
	root    string
	tarball string
	files   []string // the tarball's entries, as npm pack lists them
	demo    *demoprovider.Server
	demoURL string
	browser *harness.Tab
}

// newEnv packs dist/ and starts the demo provider and Chromium, all
// stopped when t ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	prerequisites(t)
	chromium := harness.Chromium(t)
	e := &env{root: t.TempDir()}
	for _, tools := range []string{"", "vite7"} {
		dir := e.toolsDir(tools)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(harness.Path("e2e", "bundlers", tools, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
	}
	e.pack(t)
	e.demo = demoprovider.New(demoprovider.Options{ClientSecret: clientSecret})
	srv := httptest.NewServer(e.demo)
	t.Cleanup(srv.Close)
	e.demoURL = srv.URL
	e.browser = harness.NewTab(t, chromium)
	return e
}

// toolsDir is the folder of root for the apps built with the bundlers of
// e2e/bundlers/<tools>.
func (e *env) toolsDir(tools string) string {
	if tools == "" {
		tools = "bundlers"
	}
	return filepath.Join(e.root, "with-"+tools)
}

// pack runs `npm pack` in dist/ into root/pack.
func (e *env) pack(t *testing.T) {
	t.Helper()
	dest := filepath.Join(e.root, "pack")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	out := run(t, harness.Dist(), time.Minute, nil, "npm", "pack", "--json", "--pack-destination", dest)
	var packed []struct {
		Filename string `json:"filename"`
		Files    []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &packed); err != nil || len(packed) != 1 {
		t.Fatalf("npm pack --json: %v: %s", err, excerpt(out))
	}
	e.tarball = filepath.Join(dest, packed[0].Filename)
	for _, f := range packed[0].Files {
		e.files = append(e.files, f.Path)
	}
}

// checkTarball checks what the tarball holds: exactly the module's files
// (those it imports, its types, the wasm), a license and a package.json
// naming it, whose entry points are all inside.
func (e *env) checkTarball(t *testing.T) {
	want := []string{"LICENSE", "README.md", "THIRD_PARTY_NOTICES", "crypto.mjs", "package.json", "tabs.mjs", "tokenhelper.d.ts", "tokenhelper.mjs", "tokenhelper.wasm", "wasm_exec.js"}
	got := slices.Sorted(slices.Values(e.files))
	if !slices.Equal(got, want) {
		t.Errorf("npm pack lists %v, want %v", got, want)
	}
	dir := t.TempDir()
	if err := unpack(e.tarball, dir); err != nil {
		t.Fatal(err)
	}
	license, err := os.ReadFile(filepath.Join(dir, "LICENSE"))
	if err != nil || !strings.HasPrefix(string(license), "MIT License") {
		t.Errorf("the tarball's LICENSE: %v, starts %.20q; want the MIT License", err, license)
	}
	notices, err := os.ReadFile(filepath.Join(dir, "THIRD_PARTY_NOTICES"))
	for _, want := range []string{"The Go Authors", "github.com/golang-jwt/jwt/v5", "Dave Grijalva"} {
		if err != nil || !strings.Contains(string(notices), want) {
			t.Errorf("the tarball's THIRD_PARTY_NOTICES lacks %q (%v)", want, err)
		}
	}
	var pkg struct {
		Name, License, Type, Main, Types string
		Exports                          map[string]any
	}
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(raw, &pkg)
	}
	if err != nil {
		t.Fatalf("the tarball's package.json: %v", err)
	}
	if pkg.Name != pkgName || pkg.License != "MIT" || pkg.Type != "module" {
		t.Errorf("package.json name %q, license %q, type %q; want %q, MIT, module", pkg.Name, pkg.License, pkg.Type, pkgName)
	}
	entries := []string{pkg.Main, pkg.Types}
	if dot, ok := pkg.Exports["."].(map[string]any); ok {
		entries = append(entries, fmt.Sprint(dot["types"]), fmt.Sprint(dot["default"]))
	} else {
		t.Errorf("package.json exports[\".\"] is %v, want types and default", pkg.Exports["."])
	}
	for _, f := range entries {
		if _, err := os.Stat(filepath.Join(dir, f)); f == "" || err != nil {
			t.Errorf("package.json names entry point %q, not in the tarball", f)
		}
	}
}

// installApp copies apps/<c.app> into c's tools folder of root and gives
// it the package in c's layout; it returns the copy.
func (e *env) installApp(t *testing.T, c appCase) string {
	t.Helper()
	dir := filepath.Join(e.toolsDir(c.tools), c.name)
	if err := copyApp(harness.Path("e2e", "bundlers", "apps", c.app), dir); err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "node_modules", pkgName)
	switch c.layout {
	case fromTarball:
		run(t, dir, time.Minute, nil, "npm", "install", "--offline", "--loglevel=error", e.tarball)
	case fromFolder:
		run(t, dir, time.Minute, nil, "npm", "install", "--offline", "--loglevel=error", harness.Dist())
		if fi, err := os.Lstat(installed); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("npm install of a folder left %s not a symlink (%v): the case tests nothing", installed, err)
		}
	case registry:
		if err := unpack(e.tarball, installed); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(installed, "tokenhelper.wasm")); err != nil {
		t.Fatalf("%v: %v", c.layout, err)
	}
	return dir
}

// copyApp copies the regular files of an app folder (not node_modules or
// dist/, which a run by hand may have left) into dst.
func copyApp(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == "node_modules" || rel == "dist" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// unpack extracts an npm tarball's package/ into dir, as npm leaves a
// package in node_modules.
func unpack(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tarball, err)
		}
		name, ok := strings.CutPrefix(h.Name, "package/")
		if !ok || !filepath.IsLocal(name) || h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s: unexpected entry %q", tarball, h.Name)
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, h.FileInfo().Mode().Perm())
		if err != nil {
			return err
		}
		_, err = io.Copy(w, tr)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// missingCommands lists the commands not in PATH.
func missingCommands(names ...string) []string {
	var out []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			out = append(out, n+" (apt-get install nodejs npm)")
		}
	}
	return out
}
