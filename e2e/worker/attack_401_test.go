//go:build unix

package workere2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// attack401: an API path that answers 401 to everything, called with a
// GET, four 1-byte POSTs and two GETs more, costs the provider at most
// one request (the core's renewal floor): the first call is retried once
// with the renewed token (a GET too), the others get Tomcat's own 401
// without a retry; another user's call then goes on working.
func attack401(t *testing.T, g *gateway) {
	// The provider token is obtained first, by a call that works.
	if res, body := g.raw(t, "GET", "/api/echo"); res.StatusCode != 200 {
		t.Fatalf("GET /api/echo: %d %s", res.StatusCode, body)
	}
	before := g.demo.Count()
	n := g.tomcat.Count()
	for i, method := range []string{"GET", "POST", "POST", "POST", "POST", "GET", "GET"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("x")
		}
		res, text, err := g.call(t, method, "/api/unauthorized", testOrigin, g.token, body, int64(len("x"))*int64(btoi(body != nil)))
		if err != nil || res.StatusCode != 401 || !strings.Contains(text, `"servlet":"api"`) {
			t.Errorf("%s %d: %v %v %s, want Tomcat's 401", method, i, status(res), err, text)
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
	// Seven calls, and the one retry the renewal allowed: the first GET's.
	if len(hits) != 7+spent || len(auths) != 1+spent {
		t.Errorf("Tomcat saw %d calls with %d tokens after %d renewals, want %d with %d", len(hits), len(auths), spent, 7+spent, 1+spent)
	} else if spent == 1 && (hits[1].Method != "GET" || hits[0].Authorization == hits[1].Authorization) {
		t.Errorf("Tomcat saw %s then %s: want the GET retried with the renewed token", hits[0].Method, hits[1].Method)
	}
	t.Logf("7 calls answered 401: %d provider request(s), %d upstream calls", spent, len(hits))
	other := mintFor(t.Context(), t, g.url, secondOrigin)
	res, body, err := g.call(t, "GET", "/api/echo", secondOrigin, other, nil, 0)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("another user's call after the 401s: %v %v %s", status(res), err, body)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// status is res's status code, 0 without an answer.
func status(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}
