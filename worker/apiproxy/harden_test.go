package apiproxy_test

// The gateway's hardening (issue 19): paths that could leave the base to
// some upstream, response headers, and 401s that must not cost the
// provider a request each.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/worker/apiproxy"
	"github.com/tokenhelper/tokenhelper/worker/apiproxy/apiproxytest"
)

// attackPaths could each mean a path outside the upstream's base to some
// upstream (servlet containers drop ";parameters" before resolving dot
// segments; others decode once or twice, fold "\" or trim).
var attackPaths = []string{
	"/api/..", "/api/../admin", "/api/./a", "/api/a/.", "/api/%2e%2e/admin", "/api/%2E%2e/admin", "/api/a/%2E%2E/%2E%2E/x",
	"/api/..;/admin/secret", "/api/%2e%2e;/admin/secret", "/api/x/..;/..;/admin/secret", "/api/..;x=1/admin/secret",
	"/api/.;/admin", "/api/..%3b/admin", "/api/..%3B/admin", "/api/%2e%2e%3bx/admin", "/api/%252e%252e/admin",
	"/api/%252e%252e;/admin", "/api/%252E./admin", "/api/.%252e/admin", "/api/..%253bx/admin", "/api/..%2f..%2fadmin",
	"/api/a%2f..%2f..%2fadmin", "/api/a%252f..%252f..%252fadmin", "/api/a%5c..%5cb", "/api/a%255c..%255cb",
	"/api/%c0%ae%c0%ae/admin", "/api/%e0%80%ae%e0%80%ae/admin", "/api/%ff/x", "/api/%25u002e%25u002e/admin", "/api/%25U002E./admin",
	"/api/..%00/admin", "/api/..%2500/admin", "/api/a%00b", "/api/..%09/admin", "/api/..%0a/admin", "/api/%20..%20/admin",
	"/api/.../admin", "/api/%ef%bc%8e%ef%bc%8e/admin", "/api/%e2%80%a5/admin", "/api/%e2%80%a6/admin", "/api/a//b", "/api//admin", "/api/;/admin", "/api/;x=1/admin",
	"/api/%3b/admin", "/api/a/..;", "/api/a/%2e", "/apix", "/api..;/x",
}

// safePaths are forwarded as they are.
var safePaths = []string{
	"/api", "/api/", "/api/items", "/api/items/", "/api/a.b", "/api/..a", "/api/a..", "/api/.well-known/x",
	"/api/a%2Fb", "/api/100%25", "/api/x;v=1", "/api/%2e%2ex", "/api/caf%C3%A9", "/api/a%20b",
}

func TestRefusesPathsThatCouldLeaveTheBase(t *testing.T) {
	s := newSetup(t)
	for _, p := range attackPaths {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: lenientUnescape(p), RawPath: p}
		if w := s.do(t, r); w.Code != 400 {
			t.Errorf("%s: got %d, want 400", p, w.Code)
		}
	}
	if n := len(s.api.Received()); n != 0 {
		t.Errorf("the API was called %d times", n)
	}
	for _, p := range safePaths {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: lenientUnescape(p), RawPath: p}
		if w := s.do(t, r); w.Code != 200 {
			t.Errorf("%s: got %d %s, want it forwarded", p, w.Code, w.Body)
		}
	}
}

// lenientUnescape decodes p's valid escapes and keeps invalid ones.
func lenientUnescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

func TestResponseHeadersAllowlisted(t *testing.T) {
	s := newSetup(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range map[string]string{
			"Clear-Site-Data": `"*"`, "Strict-Transport-Security": "max-age=31536000", "Server-Timing": "db;dur=53",
			"Cache-Control": "public, max-age=3600, s-maxage=7200", "Expires": "Thu, 01 Dec 2094 16:00:00 GMT",
			"Set-Cookie": "a=1", "Access-Control-Allow-Origin": "*", "X-Internal": "1", "WWW-Authenticate": "Basic",
			"ETag": `"v1"`, "Content-Language": "en", "Retry-After": "7", "Vary": "Accept", "Content-Type": "text/plain",
			"Location": r.URL.Query().Get("loc"), "Server": "upstream/1.0",
		} {
			h.Set(k, v)
		}
		w.WriteHeader(201)
	}))
	defer up.Close()
	s.proxy.Upstream, _ = url.Parse(up.URL + "/base")
	s.proxy.Public = "https://worker.example/api"
	w := httptest.NewRecorder()
	w.Header().Set("Vary", "Origin") // as the Handler does
	r := httptest.NewRequest("POST", "/api/items?loc=/base/items/7%3Fx", nil)
	s.proxy.ServeHTTP(w, r)
	want := map[string]string{
		"Etag": `"v1"`, "Content-Language": "en", "Retry-After": "7", "Content-Type": "text/plain",
		"Cache-Control": "private, max-age=3600", "Location": "https://worker.example/api/items/7?x", "Date": w.Header().Get("Date"),
	}
	for k, v := range w.Header() {
		if k == "Vary" {
			if strings.Join(v, ", ") != "Origin, Accept" {
				t.Errorf("Vary %v, want Origin and the upstream's", v)
			}
			continue
		}
		if want[k] != strings.Join(v, ", ") {
			t.Errorf("%s: %v passed on, want %q", k, v, want[k])
		}
	}
	if w.Code != 201 || w.Header().Get("Location") == "" {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
}

func TestCapCacheControl(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "private",
		"public, max-age=3600, s-maxage=7200": "private, max-age=3600",
		"max-age=60, public":                  "private, max-age=60",
		"PUBLIC, Max-Age=60":                  "private, max-age=60",
		"private=\"x\", max-age=60":           "private, max-age=60",
		"no-cache=\"set-cookie\", public":     "private, no-cache",
		"no-store, public":                    "no-store",
		"max-age=60, NO-STORE":                "no-store",
		"max-age=-1, max-age=abc, immutable":  "private, immutable",
		"stale-while-revalidate=60, must-revalidate, proxy-revalidate": "private, must-revalidate",
		"private, private, no-transform":                               "private, no-transform",
	} {
		if got := apiproxy.CapCacheControl(in, true); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if got := apiproxy.CapCacheControl("", false); got != "no-store" {
		t.Errorf("none: got %q, want no-store", got)
	}
}

func TestRebaseLocation(t *testing.T) {
	rb := apiproxy.Rebase{From: "https://up.example/base/", To: "https://worker.example/api/"}
	target := "https://up.example/base/items/1"
	for loc, want := range map[string]string{
		"/base/items/2?x=1":              "https://worker.example/api/items/2?x=1",
		"3":                              "https://worker.example/api/items/3",
		"https://up.example/base/a":      "https://worker.example/api/a",
		"HTTPS://UP.EXAMPLE/base/a":      "https://worker.example/api/a",
		"/admin/secret":                  "",
		"/base/..;/admin/secret":         "https://worker.example/api/..;/admin/secret", // refused when followed
		"/basement":                      "",
		"//up.example/other":             "",
		"https://cdn.example/file?sig=1": "https://cdn.example/file?sig=1",
		"javascript:alert(1)":            "",
		"https://up.example:8443/base/a": "https://up.example:8443/base/a",
	} {
		if got := apiproxy.RebaseLocation(rb, target, loc); got != want {
			t.Errorf("%q: got %q, want %q", loc, got, want)
		}
	}
}

// An upstream answering 401 to everything costs the provider one request
// a floor however many calls it refuses, GET and POST alike, and the
// other calls go on with the token.
func Test401sCostOneRenewalAFloor(t *testing.T) {
	s := newSetup(t)
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/deny") {
			w.WriteHeader(401)
			w.Write([]byte("denied"))
			return
		}
		s.api.ServeHTTP(w, r)
	}))
	defer deny.Close()
	s.proxy.Upstream, _ = url.Parse(deny.URL + "/v1")
	if w := s.do(t, httptest.NewRequest("GET", "/api/ok", nil)); w.Code != 200 || s.provider.Count() != 1 {
		t.Fatalf("first call: %d after %d provider requests", w.Code, s.provider.Count())
	}
	for i := range 4 {
		w := s.do(t, httptest.NewRequest("POST", "/api/deny", strings.NewReader("x")))
		if w.Code != 401 || w.Body.String() != "denied" {
			t.Errorf("POST %d: got %d %q, want the upstream's 401", i, w.Code, w.Body)
		}
	}
	for i := range 3 {
		if w := s.do(t, httptest.NewRequest("GET", "/api/deny", nil)); w.Code != 401 {
			t.Errorf("GET %d: got %d, want 401", i, w.Code)
		}
	}
	if n := s.provider.Count(); n != 2 {
		t.Errorf("seven 401s cost %d provider requests after the first, want 1", n-1)
	}
	if w := s.do(t, httptest.NewRequest("GET", "/api/ok", nil)); w.Code != 200 {
		t.Errorf("another call after the 401s: got %d %s", w.Code, w.Body)
	}
}

// FuzzSafeRest: whatever path below the prefix the proxy forwards, no
// common reading of it (apiproxytest.Escapes: a servlet container's,
// decoding once or twice first) leaves the upstream's base.
func FuzzSafeRest(f *testing.F) {
	for _, p := range append(attackPaths, safePaths...) {
		f.Add(strings.TrimPrefix(p, "/api"))
	}
	f.Fuzz(func(t *testing.T, rest string) {
		if !apiproxy.SafeRest(rest) {
			return
		}
		const base = "/base/ripple"
		if apiproxytest.Escapes(base, base+rest) {
			t.Fatalf("%q is forwarded as %s%s, which leaves the base", rest, base, rest)
		}
	})
}

// The oracle itself sees the attacks for what they are.
func TestEscapesOracle(t *testing.T) {
	for _, p := range []string{"/..;/admin", "/%2e%2e;/admin", "/x/..;/..;/admin", "/%252e%252e/admin", "/..%5cadmin", "/..%3b/admin"} {
		if !apiproxytest.Escapes("/base/ripple", "/base/ripple"+p) {
			t.Errorf("the oracle reads %s as inside the base", p)
		}
	}
	for _, p := range []string{"/a", "/a/../b", "/.;/a", "/%2e/a", "/a;x=..", ""} {
		if apiproxytest.Escapes("/base/ripple", "/base/ripple"+p) {
			t.Errorf("the oracle reads %s as outside the base", p)
		}
	}
}
