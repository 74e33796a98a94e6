//go:build !(js && wasm)

// Package browser_test drives Debian's chromium (harness.Chromium) against
// the built dist/ and an in-process demo provider, all on 127.0.0.1: the
// page, the JS module's compatibility with jwt-decode, and the wasm's
// dependencies.
package browser_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// prerequisites returns the chromium binary and the dist directory, or
// skips (fails under TOKENHELPER_E2E) when one is missing.
func prerequisites(t *testing.T) (chromium, dist string) {
	t.Helper()
	chromium, dist = harness.Chromium(t), harness.Dist()
	harness.Require(t, "Chromium", harness.MissingFiles(dist, "(./build.sh build)",
		"web/index.html", "web/tokenhelper.wasm", "browser-test/compat.html", "browser-test/jwt-decode.mjs")...)
	return chromium, dist
}

// serve starts an httptest server for h on 127.0.0.1, closed at cleanup.
func serve(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
