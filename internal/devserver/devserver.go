// Package devserver serves the built browser files (dist/) on loopback for
// `./build.sh dev`, the end-to-end tests in headless Chromium and the
// browser benchmarks. It is a static file server that gets the details
// right for WebAssembly: .wasm as application/wasm (so that the module
// compiles while it streams), .mjs as JavaScript, precompressed .br and
// .gz siblings when the browser accepts them, no caching between builds,
// and headers that keep the page's URL out of other sites' logs.
package devserver

import (
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// types are the media types served by file extension; others come from
// the mime package.
var types = map[string]string{
	".wasm": "application/wasm",
	".mjs":  "text/javascript; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".ts":   "text/plain; charset=utf-8",
	".png":  "image/png",
}

// encodings are the precompressed siblings looked for, best first.
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// Handler serves the files under root. A directory serves its index.html.
func Handler(root string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		file := filepath.Join(root, filepath.FromSlash(name))
		if fi, err := os.Stat(file); err == nil && fi.IsDir() {
			if !strings.HasSuffix(r.URL.Path, "/") {
				http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
				return
			}
			file = filepath.Join(file, "index.html")
		}
		ext := filepath.Ext(file)
		ct, ok := types[ext]
		if !ok {
			ct = mime.TypeByExtension(ext)
		}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		for _, e := range encodings {
			if _, err := os.Stat(file + e.ext); err != nil {
				continue
			}
			// The answer depends on Accept-Encoding wherever a
			// precompressed sibling exists, the plain copy included.
			h.Set("Vary", "Accept-Encoding")
			if !accepts(r.Header.Get("Accept-Encoding"), e.name) {
				continue
			}
			if f, err := os.Open(file + e.ext); err == nil {
				defer f.Close()
				if fi, err := f.Stat(); err == nil && !fi.IsDir() {
					h.Set("Content-Encoding", e.name)
					http.ServeContent(w, r, filepath.Base(file), fi.ModTime(), f)
					return
				}
			}
		}
		f, err := os.Open(file)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, filepath.Base(file), fi.ModTime(), f)
	})
}

// accepts reports whether an Accept-Encoding header value admits the
// coding name: listed (or "*") with a q-value other than 0.
func accepts(header, name string) bool {
	for _, item := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, name) && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		if strings.HasPrefix(q, "q=0") && strings.Trim(q[len("q="):], "0.") == "" {
			return false // q=0, q=0.0, q=0.000: refused
		}
		return true
	}
	return false
}
