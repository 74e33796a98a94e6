package harness

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

// workerSources are the sources of the worker bundle; a bundle older than
// any of them is stale.
var workerSources = []string{
	"*.go", "verify/*.go", "internal/jsbridge/*.go",
	"worker/*.go", "worker/*/*.go", "worker/*/*/*.go", "worker/entry/*.mjs",
}

// Wrangler returns worker/node_modules/.bin/wrangler, or skips (fails when
// Strict) when it or node is missing.
func Wrangler(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	w := Path("worker", "node_modules", ".bin", "wrangler")
	missing := MissingFiles(Path("worker"), "(npm ci in worker/)", "node_modules/.bin/wrangler")
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	Require(t, "workerd", missing...)
	return w
}

// WorkerBundle returns the built worker bundle, checked complete and no
// older than its sources: dist/worker (what deploys), or with hooks
// dist/worker-testhooks, the same program built with -tags testhooks
// (the /__test/ endpoints of worker/cmd/worker/testhooks.go).
func WorkerBundle(t testing.TB, hooks bool) string {
	t.Helper()
	dir, hint := filepath.Join(Dist(), "worker"), "(./build.sh build)"
	if hooks {
		dir, hint = filepath.Join(Dist(), "worker-testhooks"), "(./build.sh test builds it)"
	}
	missing := MissingFiles(dir, hint, devrun.BundleFiles...)
	if stale := NewerThan(filepath.Join(dir, "app.wasm"), workerSources...); stale != "" {
		missing = append(missing, "a fresh bundle: "+dir+"/app.wasm is older than "+stale+" "+hint)
	}
	Require(t, "workerd", missing...)
	return dir
}

// WorkerDir prepares a private copy of bundle with config as its
// wrangler.jsonc and vars as its .dev.vars (0600), so that a rebuild
// cannot disturb a running test and no settings land in the repository.
func WorkerDir(t testing.TB, bundle, config string, vars map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := devrun.Dir(dir, bundle, devrun.BundleFiles, config, vars); err != nil {
		t.Fatal(err)
	}
	return dir
}

// StartWorkerd runs wrangler dev in dir (see devrun.Start), persisting to
// persist, and stops it when the test ends.
func StartWorkerd(t testing.TB, wrangler, dir, persist string) *devrun.Process {
	t.Helper()
	p, err := devrun.Start(wrangler, dir, persist, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := devrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Workerd returns the workerd binary of wrangler's npm package, or skips
// (fails when Strict) when it is missing.
func Workerd(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	bin, err := devrun.WorkerdBinary(Root)
	if err != nil {
		Require(t, "bare workerd", err.Error())
	}
	return bin
}

// StartBareWorkerd runs services in bare workerd (devrun.StartWorkerd),
// without wrangler dev's proxy, in a private directory, and stops it when
// the test ends.
func StartBareWorkerd(t testing.TB, services ...devrun.Service) *devrun.Process {
	t.Helper()
	bin := Workerd(t)
	p, err := devrun.StartWorkerd(context.Background(), bin, t.TempDir(), services, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}
