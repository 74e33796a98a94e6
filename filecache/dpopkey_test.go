//go:build unix

package filecache

import (
	"os"
	"path/filepath"
	"testing"
)

// The DPoP key is made once, 0600, and shared by the next Cache of the
// directory; logout's Clear removes it.
func TestDPoPProverKept(t *testing.T) {
	dir := t.TempDir()
	a, _ := Open(dir)
	p, err := a.DPoPProver()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Open(dir)
	q, err := b.DPoPProver()
	if err != nil || q.Thumbprint() != p.Thumbprint() {
		t.Fatalf("second Cache: got %v, %v; want the same key", q, err)
	}
	fi, err := os.Stat(filepath.Join(dir, dpopKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: got %v, %v; want mode 0600", fi, err)
	}
	a.Clear()
	c, _ := Open(dir)
	if r, err := c.DPoPProver(); err != nil || r.Thumbprint() == p.Thumbprint() {
		t.Errorf("after Clear: got %v, %v; want a new key", r, err)
	}
}
