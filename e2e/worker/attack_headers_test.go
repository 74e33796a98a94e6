//go:build unix

package workere2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// attackHeaders: of the headers Tomcat's /headers answer carries, only
// the allowlisted ones reach the client: Cache-Control capped at private
// (Tomcat says public, max-age=3600, s-maxage=7200), the Location rebased
// onto the worker, Vary beside the worker's Origin, CORS the worker's
// own; Clear-Site-Data, Strict-Transport-Security, Server-Timing,
// Expires, Set-Cookie and Tomcat's own headers never.
func attackHeaders(t *testing.T, g *gateway) {
	res, body := g.raw(t, "GET", "/api/headers")
	h := res.Header
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/headers: %d %s", res.StatusCode, body)
	}
	for _, name := range []string{"Clear-Site-Data", "Strict-Transport-Security", "Server-Timing", "Expires", "Set-Cookie", "X-Upstream-Secret", "Www-Authenticate"} {
		if v := h.Values(name); len(v) > 0 {
			t.Errorf("%s: %v reached the client", name, v)
		}
	}
	want := map[string]string{
		"Cache-Control":               "private, max-age=3600",
		"Etag":                        `"v1"`,
		"Content-Language":            "en",
		"Retry-After":                 "7",
		"Location":                    g.url + "/api/elsewhere?x=1",
		"Access-Control-Allow-Origin": testOrigin,
	}
	for name, v := range want {
		if got := strings.Join(h.Values(name), ", "); got != v {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
	if expose := h.Get("Access-Control-Expose-Headers"); !strings.Contains(expose, "ETag") || !strings.Contains(expose, "Location") {
		t.Errorf("Access-Control-Expose-Headers %q: the page could not read ETag or Location", expose)
	}
	vary := strings.ToLower(strings.Join(h.Values("Vary"), ","))
	if !strings.Contains(vary, "origin") || !strings.Contains(vary, "accept") {
		t.Errorf("Vary %q, want Origin and Tomcat's Accept", vary)
	}
	// Whatever the runtime adds, nothing of Tomcat's beyond the allowlist.
	allowed := map[string]bool{"Content-Type": true, "Content-Length": true, "Date": true, "Transfer-Encoding": true, "Connection": true, "Vary": true,
		"Access-Control-Expose-Headers": true, "X-Content-Type-Options": true}
	for name := range h {
		if _, ok := want[name]; !ok && !allowed[name] {
			t.Errorf("header %s: %v, not in the allowlist", name, h[name])
		}
	}
	// An answer without Cache-Control is no-store.
	res, _ = g.raw(t, "GET", "/api/echo")
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" || res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/echo: %d Cache-Control %q, want no-store", res.StatusCode, cc)
	}
	// The cap and the rebase as the entry module applies them (the same
	// cases as worker/apiproxy's TestCapCacheControl and TestRebaseLocation).
	for cc, want := range map[string]string{
		"public, max-age=3600, s-maxage=7200":                          "private, max-age=3600",
		"PUBLIC, Max-Age=60":                                           "private, max-age=60",
		`private="x", max-age=60`:                                      "private, max-age=60",
		`no-cache="set-cookie", public`:                                "private, no-cache",
		"max-age=60, NO-STORE":                                         "no-store",
		"max-age=-1, max-age=abc, immutable":                           "private, immutable",
		"stale-while-revalidate=60, must-revalidate, proxy-revalidate": "private, must-revalidate",
	} {
		res, _ := g.raw(t, "GET", "/api/echoheaders?cc="+url.QueryEscape(cc))
		if got := res.Header.Get("Cache-Control"); got != want {
			t.Errorf("upstream Cache-Control %q: got %q, want %q", cc, got, want)
		}
	}
	up, _ := url.Parse(g.tomcat.URL)
	for loc, want := range map[string]string{
		"/base/ripple/items/2?x=1":       g.url + "/api/items/2?x=1",
		"3":                              g.url + "/api/3",
		g.tomcat.URL + "/base/ripple/a":  g.url + "/api/a",
		"/base/admin/secret":             "",
		"/base/ripple/..;/admin/secret":  g.url + "/api/..;/admin/secret", // refused when followed
		"/base/rippled":                  "",
		"//" + up.Host + "/other":        "",
		"https://cdn.example/file?sig=1": "https://cdn.example/file?sig=1",
		"javascript:alert(1)":            "",
	} {
		if want == g.url+"/api/..;/admin/secret" {
			if res, _ := g.raw(t, "GET", "/api/..;/admin/secret"); res.StatusCode != 400 {
				t.Errorf("following the rebased %q: %d, want 400", loc, res.StatusCode)
			}
		}
		res, _ := g.raw(t, "GET", "/api/echoheaders?loc="+url.QueryEscape(loc))
		if got := res.Header.Get("Location"); got != want {
			t.Errorf("upstream Location %q: got %q, want %q", loc, got, want)
		}
	}
}
