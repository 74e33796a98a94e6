//go:build !js

package worker_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestUpstreamFailures: each provider failure maps to 502, 503 or 504 with
// the provider's code, and the next request after it recovers gets a token.
func TestUpstreamFailures(t *testing.T) {
	tests := []struct {
		name     string
		fault    demoprovider.Fault
		status   int
		code     string
		requests int // token requests the provider sees (retries included)
	}{
		{"401 invalid_client", demoprovider.Fault{Kind: "status", Status: 401}, 502, "invalid_client", 1},
		{"400 invalid_request", demoprovider.Fault{Kind: "status", Status: 400}, 502, "invalid_request", 1},
		{"503 after retries", demoprovider.Fault{Kind: "status", Status: 503, Times: 3}, 503, "temporarily_unavailable", 3},
		{"500 after retries", demoprovider.Fault{Kind: "status", Status: 500, Times: 3}, 503, "server_error", 3},
		{"429 after retries", demoprovider.Fault{Kind: "status", Status: 429, Times: 3, RetryAfter: 1}, 503, "temporarily_unavailable", 3},
		{"timeout", demoprovider.Fault{Kind: "slow", Delay: 2 * time.Second, Times: 3}, 504, "timeout", 3},
		{"HTML page with 200", demoprovider.Fault{Kind: "html", Status: 200}, 502, "bad_response", 1},
		{"HTML page with 403", demoprovider.Fault{Kind: "html", Status: 403}, 502, "bad_response", 1},
		{"HTML page with 502 after retries", demoprovider.Fault{Kind: "html", Status: 502, Times: 3}, 503, "bad_response", 3},
		{"garbage", demoprovider.Fault{Kind: "garbage"}, 502, "bad_response", 1},
		{"truncated JSON", demoprovider.Fault{Kind: "truncated"}, 502, "bad_response", 1},
		{"huge body", demoprovider.Fault{Kind: "huge"}, 502, "bad_response", 1},
		{"no access_token", demoprovider.Fault{Kind: "no_access_token"}, 502, "bad_response", 1},
		{"bad expires_in", demoprovider.Fault{Kind: "bad_expires"}, 502, "bad_response", 1},
		{"connection dropped", demoprovider.Fault{Kind: "drop", Times: 3}, 503, "network", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.demo.Fail(tc.fault); err != nil {
				t.Fatal(err)
			}
			h := f.handler(f.env)
			h.Timeout = 300 * time.Millisecond
			w := f.do(h, "POST", "/token", testOrigin)
			m := wantError(t, w, tc.status, tc.code)
			if d, _ := m["error_description"].(string); !strings.Contains(d, "token endpoint") {
				t.Errorf("error_description: got %q, want it to say what failed", d)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, testOrigin)
			}
			if n := f.demo.Count(); n != tc.requests {
				t.Errorf("provider requests: got %d, want %d", n, tc.requests)
			}
			if w := f.do(f.handler(f.env), "POST", "/token", testOrigin); w.Code != 200 {
				t.Errorf("after the fault: got %d, want 200 (%s)", w.Code, w.Body)
			}
		})
	}
}

func TestWrongSecret(t *testing.T) {
	f := newFixture(t)
	e := f.env.with(worker.VarClientSecret, "wrong-secret-value-123")
	w := f.do(f.handler(e), "POST", "/token", testOrigin)
	wantError(t, w, http.StatusBadGateway, "invalid_client")
	if strings.Contains(w.Body.String(), "wrong-secret-value-123") {
		t.Errorf("answer holds the configured secret: %s", w.Body)
	}
}

func TestProviderDown(t *testing.T) {
	f := newFixture(t)
	f.srv.Close()
	w := f.do(f.handler(f.env), "POST", "/token", testOrigin)
	wantError(t, w, http.StatusServiceUnavailable, "network")
	if strings.Contains(w.Body.String(), "127.0.0.1") {
		t.Errorf("answer names the provider's address: %s", w.Body)
	}
}
