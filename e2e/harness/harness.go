// Package harness holds the chores the end-to-end tests (and the
// benchmarks that reuse them) share: finding the repository and the
// built artifacts, skipping or failing when a prerequisite is missing,
// driving headless Chromium, and running the worker bundle in workerd
// through `wrangler dev`.
//
// Without TOKENHELPER_E2E a test whose prerequisites are missing skips;
// with TOKENHELPER_E2E=1 (set by ./build.sh test) it fails instead, so
// that CI never passes by skipping.
package harness

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Root is the repository root (the tokenhelper module's directory).
var Root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}()

// Path joins elements onto Root.
func Path(elem ...string) string { return filepath.Join(append([]string{Root}, elem...)...) }

// Dist is the build output directory, Root/dist.
func Dist() string { return Path("dist") }

// Strict reports whether missing prerequisites are failures
// (TOKENHELPER_E2E set).
func Strict() bool { return os.Getenv("TOKENHELPER_E2E") != "" }

// Require skips t, or fails it when Strict, if anything is missing; what
// names the kind of test ("workerd", "Chromium", ...). Each entry of
// missing says what is absent and how to get it.
func Require(t testing.TB, what string, missing ...string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := what + " prerequisites missing: " + strings.Join(missing, ", ")
	if Strict() {
		t.Fatal(msg)
	}
	t.Skip(msg + " (set TOKENHELPER_E2E=1 to make this a failure)")
}

// SkipShort skips an end-to-end test under -short, unless Strict.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() && !Strict() {
		t.Skip("end-to-end test; -short")
	}
}

// MissingFiles lists the files under dir (relative names) that do not
// exist, each followed by hint (e.g. "(./build.sh build)").
func MissingFiles(dir, hint string, files ...string) []string {
	var out []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			rel, rerr := filepath.Rel(Root, filepath.Join(dir, f))
			if rerr != nil {
				rel = filepath.Join(dir, f)
			}
			out = append(out, rel+" "+hint)
		}
	}
	return out
}

// NewerThan returns the first file matching one of the patterns (relative
// to Root; _test.go files ignored) modified after target, or "" when none
// is or target does not exist: a stale build shows up as a named source.
func NewerThan(target string, patterns ...string) string {
	fi, err := os.Stat(target)
	if err != nil {
		return ""
	}
	for _, p := range patterns {
		files, _ := filepath.Glob(Path(p))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			if si, err := os.Stat(f); err == nil && si.ModTime().After(fi.ModTime()) {
				rel, _ := filepath.Rel(Root, f)
				return rel
			}
		}
	}
	return ""
}
