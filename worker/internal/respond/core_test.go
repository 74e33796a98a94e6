package respond

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

func TestFromCore(t *testing.T) {
	const secret = "s3cr3t+/&"
	redact := Scrub(secret, "")
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"timeout", &tokenhelper.Error{Kind: tokenhelper.ErrTimeout, Code: tokenhelper.CodeTimeout}, 504, "timeout"},
		{"unreachable", &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork}, 503, "network"},
		{"canceled", &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork, Err: context.Canceled}, 502, "network"},
		{"5xx with a code", &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "temporarily_unavailable", Status: 503}, 503, "temporarily_unavailable"},
		{"HTML 5xx", &tokenhelper.Error{Kind: tokenhelper.ErrBadResponse, Code: tokenhelper.CodeBadResponse, Status: 502}, 503, "bad_response"},
		{"refused", &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "invalid_client", Status: 401}, 502, "invalid_client"},
		{"unusable", &tokenhelper.Error{Kind: tokenhelper.ErrBadResponse, Code: tokenhelper.CodeBadResponse, Status: 200}, 502, "bad_response"},
		{"odd code", &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: `a"b`, Status: 400}, 502, "invalid_response"},
		{"config", &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: "ClientID"}, 500, "misconfigured"},
		{"not a core error", errors.New("boom"), 502, "network"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := FromCore(tc.err, redact)
			if f.Status != tc.status || f.Code != tc.code || f.Description == "" {
				t.Errorf("got %d %s %q, want %d %s with a description", f.Status, f.Code, f.Description, tc.status, tc.code)
			}
		})
	}
	e := &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "invalid_client", Status: 401, Description: "client secret " + secret + " is wrong"}
	if f := FromCore(e, redact); strings.Contains(f.Description, "s3cr3t") || !strings.HasSuffix(f.Description, "(HTTP 401): client secret **** is wrong") {
		t.Errorf("redacted: got %q", f.Description)
	}
	if f := FromCore(e, nil); strings.Contains(f.Description, "client secret") {
		t.Errorf("nil redact: got %q, want no provider text", f.Description)
	}
}

func TestFailureWrite(t *testing.T) {
	w := httptest.NewRecorder()
	FromCore(&tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "server_error", Status: 503, RetryAfter: 1500 * time.Millisecond}, nil).Write(w)
	if w.Code != 503 || w.Header().Get("Retry-After") != "2" || w.Header().Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
	if got, want := w.Body.String(), `{"error":"server_error","error_description":"the token endpoint refused the request (HTTP 503)"}`+"\n"; got != want {
		t.Errorf("body: got %s, want %s", got, want)
	}
}

func TestScrubCaps(t *testing.T) {
	if got := Scrub()(strings.Repeat("é", 150)); len(got) > 200+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("got %d bytes %q", len(got), got)
	}
}

// A failure the core repeats during its backoff answers as the failure it
// repeats, with Retry-After saying when the provider is asked again.
func TestRepeatedFailure(t *testing.T) {
	w := httptest.NewRecorder()
	FromCore(&tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "invalid_client", Status: 401,
		Repeated: true, RetryAfter: 3200 * time.Millisecond}, nil).Write(w)
	if w.Code != 502 || w.Header().Get("Retry-After") != "4" || !strings.Contains(w.Body.String(), `"error":"invalid_client"`) {
		t.Errorf("got %d %v %s, want 502 invalid_client with Retry-After 4", w.Code, w.Header(), w.Body)
	}
}

// TestHealth: Health writes what JSON writes for {"status": "ok"}.
func TestHealth(t *testing.T) {
	want := httptest.NewRecorder()
	JSON(want, http.StatusOK, map[string]string{"status": "ok"})
	got := httptest.NewRecorder()
	Health(got)
	if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
		t.Fatalf("got %d %q %q, want %d %q %q", got.Code, got.Header().Get("Content-Type"), got.Body, want.Code, want.Header().Get("Content-Type"), want.Body)
	}
}
