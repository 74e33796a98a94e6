//go:build unix

package workere2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// attack401: an API path that answers 401 to everything, called four
// times with a 1-byte POST and three times with GET, costs the provider
// at most one request (the core's renewal floor); each caller gets
// Tomcat's own 401; another user's call goes on working with the token.
func attack401(t *testing.T, g *gateway) {
	before := g.demo.Count()
	n := g.tomcat.Count()
	for i := range 4 {
		res, body, err := g.call(t, "POST", "/api/unauthorized", testOrigin, g.token, strings.NewReader("x"), 1)
		if err != nil || res.StatusCode != 401 || !strings.Contains(body, `"servlet":"api"`) {
			t.Errorf("POST %d: %v %v %s, want Tomcat's 401", i, status(res), err, body)
		}
	}
	for i := range 3 {
		res, body, err := g.call(t, "GET", "/api/unauthorized", testOrigin, g.token, nil, 0)
		if err != nil || res.StatusCode != 401 || !strings.Contains(body, `"servlet":"api"`) {
			t.Errorf("GET %d: %v %v %s, want Tomcat's 401", i, status(res), err, body)
		}
	}
	spent := g.demo.Count() - before
	if spent > 1 {
		t.Errorf("seven 401s cost %d provider requests, want at most 1", spent)
	}
	hits := hitsOf(g.tomcat, n, "/base/ripple/unauthorized", 7+spent, 10*time.Second)
	auths := map[string]bool{}
	for _, h := range hits {
		auths[h.Authorization] = true
	}
	// Seven calls, and the one retry the renewal allowed.
	if len(hits) != 7+spent || len(auths) != 1+spent {
		t.Errorf("Tomcat saw %d calls with %d tokens after %d renewals, want %d with %d", len(hits), len(auths), spent, 7+spent, 1+spent)
	}
	t.Logf("7 calls answered 401: %d provider request(s), %d upstream calls", spent, len(hits))
	other := mintFor(t.Context(), t, g.url, secondOrigin)
	res, body, err := g.call(t, "GET", "/api/echo", secondOrigin, other, nil, 0)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("another user's call after the 401s: %v %v %s", status(res), err, body)
	}
}

// status is res's status code, 0 without an answer.
func status(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}
