//go:build unix

package workere2e_test

import (
	"strings"
	"testing"
	"time"
)

// pathAttacks are request targets below /api/ that some upstream could
// read as a path outside its base: Tomcat itself resolves the first four
// (the issue's) to /base/admin/secret. Sent as written.
var pathAttacks = []string{
	"/api/..;/admin/secret", "/api/%2e%2e;/admin/secret", "/api/x/..;/..;/admin/secret", "/api/..;x=1/admin/secret",
	"/api/%2E%2E;/admin/secret", "/api/.;/..;/admin/secret", "/api/..%3b/admin/secret", "/api/..%3B/admin/secret",
	"/api/%2e%2e%3bx/admin/secret", "/api/%252e%252e/admin/secret", "/api/%252e%252e;/admin/secret", "/api/%252E./admin/secret",
	"/api/.%252e/admin/secret", "/api/..%253bx/admin/secret", "/api/..%2f..%2fadmin/secret", "/api/a%2f..%2f..%2fadmin/secret",
	"/api/a%252f..%252f..%252fadmin/secret", "/api/..%5cadmin/secret", "/api/a%255c..%255c..%255cadmin/secret",
	"/api/%c0%ae%c0%ae/admin/secret", "/api/%e0%80%ae%e0%80%ae/admin/secret", "/api/%25u002e%25u002e/admin/secret",
	"/api/..%00/admin/secret", "/api/..%2500/admin/secret", "/api/..%09/admin/secret", "/api/%20..%20/admin/secret",
	"/api/.../admin/secret", "/api/%ef%bc%8e%ef%bc%8e/admin/secret", "/api//..;/admin/secret", "/api/;/..;/admin/secret",
	"/api/%3b/..;/admin/secret", "/api/a//..;/..;/admin/secret", "/api/..;", "/api/..;/", "/api/x/..;/..;",
	"/api/../admin/secret", "/api/%2e%2e/admin/secret", "/api/a\\..\\..\\admin/secret", "/api/..\\admin/secret",
	"/api/x/../../admin/secret", "/api/%2e%2e%2fadmin/secret", "/api/.%2e/admin/secret",
}

// pathsInside are odd but harmless: forwarded, and Tomcat serves them
// under the base.
var pathsInside = []string{"/api/echo;v=1", "/api/.%2e.x", "/api/a..b/echo"}

// attackPaths: every path attack is refused before the upstream (400
// from the worker, or 404 where the runtime resolved the dot segments
// first and the path left /api/), Tomcat serves none of them; a plain
// call and the odd but harmless paths do reach the API, with the
// provider's token.
func attackPaths(t *testing.T, g *gateway) {
	before := g.tomcat.Count()
	for _, p := range pathAttacks {
		res, body := g.raw(t, "GET", p)
		if res.StatusCode != 400 && res.StatusCode != 404 {
			t.Errorf("GET %s: %d %s, want it refused", p, res.StatusCode, body)
		} else if res.StatusCode == 400 && !strings.Contains(body, "invalid_path") {
			t.Errorf("GET %s: 400 %s, want invalid_path", p, body)
		}
	}
	// A call that does reach Tomcat, after them: once its record is in,
	// so would theirs be.
	res, body := g.raw(t, "GET", "/api/echo?last")
	hits := g.tomcat.WaitHits(before, 10*time.Second)
	for len(hits) > 0 && hits[len(hits)-1].URI != "/base/ripple/echo" {
		hits = g.tomcat.WaitHits(before+len(hits), 10*time.Second)
	}
	if res.StatusCode != 200 || len(hits) != 1 {
		t.Errorf("%d path attacks and a plain call (%d %s): Tomcat saw %+v, want only the plain call", len(pathAttacks), res.StatusCode, body, hits)
	}
	t.Logf("%d path attacks sent, %d reached Tomcat", len(pathAttacks), max(0, len(hits)-1))
	for _, p := range append([]string{"/api/echo"}, pathsInside...) {
		n := g.tomcat.Count()
		res, body := g.raw(t, "GET", p)
		hits := g.tomcat.WaitHits(n, 10*time.Second)
		if res.StatusCode != 200 || len(hits) != 1 || hits[0].Servlet != "api" || !strings.HasPrefix(hits[0].Path, "/base/ripple/") ||
			!strings.HasPrefix(hits[0].Authorization, "Bearer ") || strings.Contains(hits[0].Authorization, g.token) {
			t.Errorf("GET %s: %d %s, Tomcat saw %+v; want it served under the base with the provider's token", p, res.StatusCode, body, hits)
		}
	}
}
