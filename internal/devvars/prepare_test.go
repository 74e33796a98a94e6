//go:build unix

package devvars

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestDemo checks that the demo settings pass the worker's own checks and
// name the demo provider's token URL and each page origin once.
func TestDemo(t *testing.T) {
	_, key := testkeys.Ed25519(t)
	c := Demo("http://127.0.0.1:8788", "http://127.0.0.1:8789", key, "http://127.0.0.1:8080", "http://localhost:8080", "http://localhost:8080")
	if !strings.HasPrefix(c, header) {
		t.Fatal("no marker line")
	}
	for _, want := range []string{
		"ROUTES=ripple,wave,aluma\n",
		"RIPPLE_TOKEN_URL=http://127.0.0.1:8788/alphaus-ripple/ripple/access_token\n",
		"WAVE_UPSTREAM_API_URL=http://127.0.0.1:8789/wave\n",
		"ALLOWED_ORIGINS=http://127.0.0.1:8080,http://localhost:8080\n",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("no %q in the demo settings", want)
		}
	}
	path := filepath.Join(t.TempDir(), ".dev.vars")
	os.WriteFile(path, []byte(c), 0o600)
	vars, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.CheckSettings(func(k string) string { return vars[k] }); err != nil {
		t.Errorf("the demo settings are invalid: %v", err)
	}
}

// TestPrepare writes a missing or generated file (0600 under any umask)
// and keeps the user's own.
func TestPrepare(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, ".dev.vars")
	content := Demo("http://127.0.0.1:1", "http://127.0.0.1:3", "not-a-key", "http://127.0.0.1:2")
	check := func(name, before string, wantWritten bool) {
		t.Helper()
		if before != "" {
			if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, 0o644)
		}
		written, err := Prepare(path, content)
		if err != nil || written != wantWritten {
			t.Fatalf("%s: Prepare = %v, %v; want %v", name, written, err, wantWritten)
		}
		got, _ := os.ReadFile(path)
		fi, _ := os.Stat(path)
		switch {
		case wantWritten && (string(got) != content || fi.Mode().Perm() != 0o600):
			t.Errorf("%s: file of %d bytes, mode %v; want the demo content, 0600", name, len(got), fi.Mode().Perm())
		case !wantWritten && string(got) != before:
			t.Errorf("%s: the user's file changed to %q", name, got)
		}
	}
	check("absent", "", true)
	check("generated earlier", Marker+"; old\nCLIENT_ID=x\n", true)
	check("the user's", "CLIENT_ID=mine\n"+Marker+"\n", false)
	check("the user's, marker indented", " "+Marker+"\n", false)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files in the directory, want 1", len(entries))
	}
}
