//go:build !(js && wasm)

package devserver_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

func TestHandlerServesWasm(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.wasm"), []byte("\x00asm"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.wasm.gz"), []byte("gz"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.wasm.br"), []byte("br"), 0o644)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>hi"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.mjs"), []byte("export {}"), 0o644)
	srv := httptest.NewServer(devserver.Handler(dir))
	defer srv.Close()
	url := srv.URL
	for _, c := range []struct{ path, accept, ctype, encoding, body, vary string }{
		{"/m.wasm", "", "application/wasm", "", "\x00asm", "Accept-Encoding"},
		{"/m.wasm", "gzip, deflate, br", "application/wasm", "br", "br", "Accept-Encoding"},
		{"/m.wasm", "gzip, deflate, br;q=0", "application/wasm", "gzip", "gz", "Accept-Encoding"},
		{"/m.wasm", "gzip;q=0.0, identity", "application/wasm", "", "\x00asm", "Accept-Encoding"},
		{"/m.wasm", "deflate, brotli", "application/wasm", "", "\x00asm", "Accept-Encoding"},
		{"/a.mjs", "", "text/javascript; charset=utf-8", "", "export {}", ""},
		{"/a.mjs", "br", "text/javascript; charset=utf-8", "", "export {}", ""},
		{"/", "", "text/html; charset=utf-8", "", "<p>hi", ""},
	} {
		req, _ := http.NewRequest("GET", url+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		}
		tr := &http.Transport{DisableCompression: true}
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 64)
		n, _ := res.Body.Read(body)
		res.Body.Close()
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := res.Header.Get("Content-Encoding"); got != c.encoding {
			t.Errorf("%s (Accept-Encoding %q): Content-Encoding %q, want %q", c.path, c.accept, got, c.encoding)
		}
		if got := res.Header.Get("Vary"); got != c.vary {
			t.Errorf("%s (Accept-Encoding %q): Vary %q, want %q", c.path, c.accept, got, c.vary)
		}
		if string(body[:n]) != c.body {
			t.Errorf("%s: body %q, want %q", c.path, body[:n], c.body)
		}
	}
	if res, _ := http.Get(url + "/nope"); res.StatusCode != 404 {
		t.Errorf("missing file: %d, want 404", res.StatusCode)
	}
	if res, _ := http.Post(url+"/m.wasm", "text/plain", nil); res.StatusCode != 405 {
		t.Errorf("POST: %d, want 405", res.StatusCode)
	}
}
