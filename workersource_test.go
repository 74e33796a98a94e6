package tokenhelper_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// workerServer answers every request with status, content type and body,
// and counts the requests; check sees each one.
func workerServer(t *testing.T, status int, ctype, body string, check func(*http.Request)) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if check != nil {
			check(r)
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token", &n
}

func workerClient() *tokenhelper.Client {
	c := newClock()
	return &tokenhelper.Client{Transport: nethttp.New(nil), Clock: c, Retry: tokenhelper.RetryPolicy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
}

func TestWorkerSourceToken(t *testing.T) {
	url, n := workerServer(t, 200, "application/json; charset=utf-8", `{"access_token":"w1","token_type":"Bearer","expires_in":300}`+"\n",
		func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			for k, want := range map[string]string{"Origin": "https://app.example.com", "Accept": "application/json", "Authorization": "Bearer caller"} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if r.Method != "POST" || r.URL.Path != "/token" || len(b) != 0 {
				t.Errorf("request: got %s %s with %d body bytes, want a bodiless POST /token", r.Method, r.URL.Path, len(b))
			}
		})
	src, err := tokenhelper.NewWorkerSource(workerClient(), tokenhelper.WorkerConfig{
		URL: url, Origin: "https://app.example.com", Header: map[string]string{"Authorization": "Bearer caller"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tok, err := src.Token(context.Background())
		if err != nil || tok.AccessToken != "w1" || tok.ExpiresIn != 300 {
			t.Fatalf("Token: got %v, %v; want w1 for 300 s", tok, err)
		}
	}
	if got := n.Load(); got != 1 {
		t.Errorf("requests: got %d, want 1 (cached)", got)
	}
}

func TestWorkerSourceErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		kind     error
		code     string
		requests int32
	}{
		{"origin refused", 403, "application/json", `{"error":"origin_not_allowed","error_description":"this origin may not get tokens from this worker"}`,
			tokenhelper.ErrRejected, "origin_not_allowed", 1},
		{"provider timed out", 504, "application/json", `{"error":"timeout","error_description":"the token endpoint did not answer in time"}`,
			tokenhelper.ErrRejected, "timeout", 2},
		{"misconfigured", 500, "application/json; charset=utf-8", `{"error":"misconfigured","error_description":"CLIENT_SECRET required"}`,
			tokenhelper.ErrRejected, "misconfigured", 2},
		{"HTML page", 200, "text/html", `<html><body>Sign in</body></html>`,
			tokenhelper.ErrBadResponse, tokenhelper.CodeBadResponse, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, n := workerServer(t, tc.status, tc.ctype, tc.body, nil)
			src, err := tokenhelper.NewWorkerSource(workerClient(), tokenhelper.WorkerConfig{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background())
			var e *tokenhelper.Error
			if !errors.As(err, &e) || !errors.Is(err, tc.kind) || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("got %v, want %v with code %s and status %d", err, tc.kind, tc.code, tc.status)
			}
			if got := n.Load(); got != tc.requests {
				t.Errorf("requests: got %d, want %d", got, tc.requests)
			}
		})
	}
}

func TestWorkerConfigURL(t *testing.T) {
	for _, u := range []string{"", "/token", "http://worker.example.com/token", "https://user:pw@worker.example.com/token"} {
		_, err := tokenhelper.NewWorkerSource(workerClient(), tokenhelper.WorkerConfig{URL: u})
		var e *tokenhelper.Error
		if !errors.As(err, &e) || e.Kind != tokenhelper.ErrConfig || e.Field != "URL" {
			t.Errorf("URL %q: got %v, want an ErrConfig naming URL", u, err)
		}
	}
	req, err := tokenhelper.WorkerConfig{URL: "https://worker.example.com/token"}.Request()
	if err != nil || req.Method != "POST" || len(req.Header) != 1 || req.Header["Accept"] != "application/json" || req.Body != nil {
		t.Errorf("Request: got %+v, %v; want a bodiless POST with only Accept (no CORS preflight)", req, err)
	}
	req, _ = tokenhelper.WorkerConfig{URL: "https://worker.example.com/token", Header: map[string]string{"Cf-Access-Jwt-Assertion": "caller.jwt.value"}}.Request()
	if got := req.Curl() + req.Redact("echo caller.jwt.value"); strings.Contains(got, "caller.jwt.value") {
		t.Errorf("a header value is shown: %s", got)
	}
}

func TestParseAuthStyle(t *testing.T) {
	for in, want := range map[string]tokenhelper.AuthStyle{"": tokenhelper.AuthInBody, "body": tokenhelper.AuthInBody, " Basic ": tokenhelper.AuthBasic} {
		if got, err := tokenhelper.ParseAuthStyle(in); err != nil || got != want {
			t.Errorf("ParseAuthStyle(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := tokenhelper.ParseAuthStyle("digest"); !errors.Is(err, tokenhelper.ErrConfig) {
		t.Errorf("ParseAuthStyle(digest): got %v, want ErrConfig", err)
	}
	if tokenhelper.AuthBasic.String() != "basic" || tokenhelper.AuthInBody.String() != "body" {
		t.Errorf("String: got %s and %s, want basic and body", tokenhelper.AuthBasic, tokenhelper.AuthInBody)
	}
}

// A Caller is asked before each POST; its JWT goes as a Bearer token and
// never into an error.
func TestWorkerSourceCaller(t *testing.T) {
	const jwt = "eyJ.caller-jwt-of-some-length.sig"
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+jwt {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_token","error_description":"caller ` + r.Header.Get("Authorization") + ` refused"}`))
			return
		}
		w.Write([]byte(`{"access_token":"minted","token_type":"Bearer","expires_in":300}`))
	}))
	defer srv.Close()
	asked := 0
	w := tokenhelper.WorkerConfig{URL: srv.URL + "/token", Origin: "https://app.example", Caller: func(context.Context) (string, error) {
		asked++
		return jwt, nil
	}}
	c := &tokenhelper.Client{Transport: nethttp.New(nil), Clock: newClock()}
	tok, err := w.Token(context.Background(), c)
	if err != nil || tok.AccessToken != "minted" || asked != 1 || got[0] != "Bearer "+jwt {
		t.Fatalf("got %v, %v after %d asks, header %q", tok, err, asked, got)
	}
	w.Caller = func(context.Context) (string, error) { return "", errors.New("not signed in") }
	if _, err := w.Token(context.Background(), c); !errors.Is(err, tokenhelper.ErrConfig) || !strings.Contains(err.Error(), "not signed in") {
		t.Errorf("failing caller: got %v, want a config error with its reason", err)
	}
	w.Caller = func(context.Context) (string, error) { return "wrong-caller-jwt-value", nil }
	_, err = w.Token(context.Background(), c)
	if err == nil || strings.Contains(err.Error(), "wrong-caller-jwt-value") {
		t.Errorf("refused caller: got %v, want invalid_token without the JWT", err)
	}
}
