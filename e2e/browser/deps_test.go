//go:build !(js && wasm)

package browser_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// TestBrowserWasmDeps keeps Go's HTTP and TLS stacks out of the browser's
// WebAssembly: token requests go through the page's fetch (jsbridge.Fetch),
// and net/http alone would add megabytes; nor any crypto.
func TestBrowserWasmDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "list", "-deps", "./wasm")
	cmd.Dir = harness.Root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps ./wasm gave %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		// golang-jwt registers RSA, ECDSA and x509 (about 0.3 MB gzip):
		// the page only decodes; crypto/rand and crypto/sha256 bring the
		// FIPS module (about 50 KB gzip) for nothing secret.
		switch {
		case d == "net/http", d == "crypto/tls", d == "mime/multipart", d == "net",
			strings.HasPrefix(d, "github.com/golang-jwt/"), strings.HasPrefix(d, "crypto/"):
			t.Errorf("the browser WebAssembly imports %s", d)
		}
	}
}
