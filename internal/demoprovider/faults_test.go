package demoprovider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault demoprovider.Fault
		check func(t *testing.T, e *env, r *result)
	}{
		{"status 500", demoprovider.Fault{Kind: "status"}, func(t *testing.T, e *env, r *result) {
			assertError(t, r, 500, "server_error")
		}},
		{"status 503", demoprovider.Fault{Kind: "status", Status: 503, RetryAfter: 3}, func(t *testing.T, e *env, r *result) {
			assertError(t, r, 503, "temporarily_unavailable")
			if got := r.header.Get("Retry-After"); got != "3" {
				t.Errorf("Retry-After %q", got)
			}
		}},
		{"status 429", demoprovider.Fault{Kind: "status", Status: 429, RetryAfter: 7}, func(t *testing.T, e *env, r *result) {
			assertError(t, r, 429, "temporarily_unavailable")
			if got := r.header.Get("Retry-After"); got != "7" {
				t.Errorf("Retry-After %q", got)
			}
			if got := r.header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Retry-After") {
				t.Errorf("Retry-After not exposed to CORS: %q", got)
			}
		}},
		{"status 401", demoprovider.Fault{Kind: "status", Status: 401}, func(t *testing.T, e *env, r *result) {
			assertError(t, r, 401, "invalid_client")
		}},
		{"html", demoprovider.Fault{Kind: "html"}, func(t *testing.T, e *env, r *result) {
			if r.status != 502 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
				!bytes.Contains(r.body, []byte("<h1>502 Bad Gateway</h1>")) {
				t.Errorf("%d %q %s", r.status, r.header.Get("Content-Type"), r.body)
			}
		}},
		{"html 200 (captive portal)", demoprovider.Fault{Kind: "html", Status: 200}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("%d %q", r.status, r.header.Get("Content-Type"))
			}
		}},
		{"garbage", demoprovider.Fault{Kind: "garbage"}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || r.header.Get("Content-Type") != "application/json" || json.Valid(r.body) {
				t.Errorf("%d %q %q", r.status, r.header.Get("Content-Type"), r.body)
			}
		}},
		{"truncated", demoprovider.Fault{Kind: "truncated"}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || json.Valid(r.body) || !bytes.HasPrefix(r.body, []byte(`{"access_token":"`)) {
				t.Errorf("%d %q", r.status, r.body)
			}
		}},
		{"huge", demoprovider.Fault{Kind: "huge"}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || len(r.body) != demoprovider.HugeBodyBytes || !json.Valid(r.body) {
				t.Errorf("%d, %d bytes, valid %v", r.status, len(r.body), json.Valid(r.body))
			}
			if r.str("access_token") == "" {
				t.Error("huge answer has no access_token at its end")
			}
		}},
		{"no_access_token", demoprovider.Fault{Kind: "no_access_token"}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || r.json == nil || r.json["access_token"] != nil || r.json["expires_in"] == nil {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"bad_expires", demoprovider.Fault{Kind: "bad_expires"}, func(t *testing.T, e *env, r *result) {
			if got, _ := r.json["expires_in"].(float64); r.status != 200 || got != -5 || r.str("access_token") == "" {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"slow", demoprovider.Fault{Kind: "slow", Delay: 150 * time.Millisecond}, func(t *testing.T, e *env, r *result) {
			if r.status != 200 || r.str("access_token") == "" {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
	}
	for _, tt := range tests {
		for _, via := range []string{"Fail", "HTTP"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				e := newEnv(t, demoprovider.Options{})
				queue(t, e, via, tt.fault)
				// Faults do not touch the JWKS, health or control endpoints.
				if r := e.get(demoprovider.JWKSPath); r.status != 200 {
					t.Fatalf("JWKS answered %d with a fault queued", r.status)
				}
				if r := e.get(demoprovider.HealthPath); r.status != 200 {
					t.Fatalf("healthz answered %d with a fault queued", r.status)
				}
				start := time.Now()
				r := e.post("alphaus-ripple", encMultipart, clientFields("alphaus-ripple"))
				if tt.fault.Kind == "slow" && time.Since(start) < tt.fault.Delay {
					t.Errorf("slow fault answered after %v", time.Since(start))
				}
				tt.check(t, e, r)
				rec := e.last()
				if rec.Fault != tt.fault.Kind || rec.Status != r.status {
					t.Errorf("logged %+v", rec)
				}
				if rec.Fields["grant_type"] != "client_credentials" || rec.Fields["client_secret"] != demoprovider.RedactedOK {
					t.Errorf("faulted request fields not logged: %v", rec.Fields)
				}
				// The fault applied once; the next request is served normally.
				if r := e.post("alphaus-ripple", encMultipart, clientFields("alphaus-ripple")); r.status != 200 {
					t.Errorf("after the fault: %d %s", r.status, r.body)
				}
				if got := e.srv.Count(); got != 2 {
					t.Errorf("Count %d, want 2", got)
				}
			})
		}
	}
}

// queue queues a fault through the Go API or the control endpoint.
func queue(t *testing.T, e *env, via string, f demoprovider.Fault) {
	t.Helper()
	if via == "Fail" {
		if err := e.srv.Fail(f); err != nil {
			t.Fatal(err)
		}
		return
	}
	body := map[string]any{"kind": f.Kind}
	if f.Times != 0 {
		body["times"] = f.Times
	}
	if f.Status != 0 {
		body["status"] = f.Status
	}
	if f.RetryAfter != 0 {
		body["retry_after"] = f.RetryAfter
	}
	if f.Delay != 0 {
		body["delay"] = f.Delay.String()
	}
	b, _ := json.Marshal(body)
	r := e.postRaw(demoprovider.FaultPath, "application/json", b)
	if r.status != 200 || r.json["ok"] != true {
		t.Fatalf("POST %s: %d %s", demoprovider.FaultPath, r.status, r.body)
	}
}

func TestFaultDrop(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	if err := e.srv.Fail(demoprovider.Fault{Kind: "drop"}); err != nil {
		t.Fatal(err)
	}
	body, ct := encode(t, encForm, clientFields("aluma"))
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+demoprovider.Path("aluma"), bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request got an answer: %d", resp.StatusCode)
	}
	// The client sees the connection drop before the handler has logged
	// it: wait for the record a little.
	var rec demoprovider.Received
	for end := time.Now().Add(2 * time.Second); rec.Fault != "drop" && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if reqs := e.srv.Requests(); len(reqs) > 0 {
			rec = reqs[len(reqs)-1]
		}
	}
	if rec.Fault != "drop" || rec.Status != 0 {
		t.Errorf("logged %+v", rec)
	}
	if r := e.post("aluma", encForm, clientFields("aluma")); r.status != 200 {
		t.Errorf("after the drop: %d", r.status)
	}
}

func TestFaultSlowHonoursContext(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	if err := e.srv.Fail(demoprovider.Fault{Kind: "slow", Delay: time.Minute}); err != nil {
		t.Fatal(err)
	}
	body, ct := encode(t, encForm, clientFields("aluma"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.ts.URL+demoprovider.Path("aluma"), bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("slow request answered before the client gave up")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v", err)
	}
	// The handler notices the client left well before the minute is up.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := e.last()
		if rec.Error == "client_gone" && rec.Fault == "slow" && rec.Status == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow handler still waiting: %+v", rec)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFaultQueue(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	must := func(f demoprovider.Fault) {
		if err := e.srv.Fail(f); err != nil {
			t.Fatal(err)
		}
	}
	must(demoprovider.Fault{Kind: "status", Status: 503, Times: 2})
	must(demoprovider.Fault{Kind: "html"})
	want := []int{503, 503, 502, 200}
	for i, w := range want {
		if r := e.post("custom", encForm, clientFields("custom")); r.status != w {
			t.Errorf("request %d: %d, want %d", i, r.status, w)
		}
	}
	// Preflights and rejected methods do not consume faults.
	must(demoprovider.Fault{Kind: "status"})
	req, _ := http.NewRequest(http.MethodOptions, e.ts.URL+demoprovider.Path("custom"), nil)
	if r := e.do(req); r.status != 204 {
		t.Errorf("preflight %d", r.status)
	}
	if r := e.get(demoprovider.Path("custom")); r.status != 405 {
		t.Errorf("GET %d", r.status)
	}
	if r := e.post("custom", encForm, clientFields("custom")); r.status != 500 {
		t.Errorf("fault not kept for the next POST: %d", r.status)
	}
	// Reset clears queued faults, the count and the log.
	must(demoprovider.Fault{Kind: "status", Times: 5})
	e.srv.Reset()
	if e.srv.Count() != 0 || len(e.srv.Requests()) != 0 {
		t.Errorf("after Reset: count %d, %d logged", e.srv.Count(), len(e.srv.Requests()))
	}
	if r := e.post("custom", encForm, clientFields("custom")); r.status != 200 {
		t.Errorf("fault survived Reset: %d", r.status)
	}
}

func TestInvalidFaults(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	for _, f := range []demoprovider.Fault{
		{Kind: "nope"}, {Kind: ""}, {Kind: "status", Status: 200}, {Kind: "status", Status: 700},
		{Kind: "html", Status: 100}, {Kind: "drop", Times: -1}, {Kind: "slow", Delay: -time.Second},
	} {
		if err := e.srv.Fail(f); err == nil {
			t.Errorf("Fail(%+v) accepted", f)
		}
	}
	for _, body := range []string{
		``, `{`, `[]`, `{"kind":"nope"}`, `{"kind":"status","status":"500"}`, `{"kind":"status","bogus":1}`,
		`{"kind":"slow","delay":"soon"}`, `{"kind":"status"} {"kind":"html"}`,
	} {
		r := e.postRaw(demoprovider.FaultPath, "application/json", []byte(body))
		assertError(t, r, 400, "invalid_request")
	}
	if r := e.post("custom", encForm, clientFields("custom")); r.status != 200 {
		t.Errorf("an invalid fault was queued: %d", r.status)
	}
	r := e.postRaw(demoprovider.FaultPath, "application/json", []byte(`{"kind":"slow","delay_ms":20}`))
	if r.status != 200 || r.json["delay_ms"] != float64(20) {
		t.Errorf("delay_ms: %d %s", r.status, r.body)
	}
}
