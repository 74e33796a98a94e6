//go:build unix

package workere2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWranglerDevOpsLogs: under wrangler dev (KV bound, the rate limiter
// at 3 a minute), a provider request and the refusals give their JSON
// lines in wrangler's output, the refusals a handful with the right
// counts; the status names KV; no line holds a secret or token.
func TestWranglerDevOpsLogs(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	const statusToken = "ops-wrangler-status-6f5e4d3c2b1a"
	vars := holderVars(strings.TrimPrefix(provider.URL, "http://")).with(worker.VarStatusToken, statusToken, worker.VarRefusalLogPeriod, "2")
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 3, true), t.TempDir())

	var tokens []string
	for i := range 6 { // 3 allowed, 3 rate-limited
		status, _, body, err := post(ctx, http.DefaultClient, w.URL, testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			AccessToken string `json:"access_token"`
		}
		if status == 200 && json.Unmarshal(body, &m) == nil {
			tokens = append(tokens, m.AccessToken)
		} else if status != 429 {
			t.Fatalf("POST /token %d: %d %s", i, status, body)
		}
	}
	for i := range 200 {
		if status, _, _, _ := post(ctx, http.DefaultClient, w.URL, fmt.Sprintf("https://evil-%d.example", i)); status != 403 {
			t.Fatalf("evil origin: %d", status)
		}
	}
	code, b := get(ctx, t, w.URL+"/status", "Authorization", "Bearer "+statusToken)
	var st struct {
		Routes []worker.RouteStatus `json:"routes"`
	}
	if code != 200 || json.Unmarshal([]byte(b), &st) != nil || len(st.Routes) != 1 || fmt.Sprint(st.Routes[0].Sources) != "[kv provider]" || !st.Routes[0].TokenHeld {
		t.Errorf("status: %d %s", code, b)
	}
	time.Sleep(2500 * time.Millisecond)
	get(ctx, t, w.URL+"/healthz")

	var evs []map[string]any
	deadline := time.Now().Add(15 * time.Second)
	total := map[string]float64{}
	for {
		evs = workerdEvents(t, w.Log())
		clear(total)
		for _, e := range eventsOf(evs, worker.EventRefusals, "") {
			total[e["reason"].(string)] += e["count"].(float64)
		}
		if total["origin_not_allowed"] == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e := eventsOf(evs, worker.EventToken, ""); len(e) != 1 || e[0]["from"] != "provider" {
		t.Errorf("token lines: %v", e)
	}
	if n := len(eventsOf(evs, worker.EventRefusals, "")); n > 4 || total["origin_not_allowed"] != 200 || total["rate_limited"] != 3 {
		t.Errorf("%d refusal lines, totals %v", n, total)
	}
	log := w.Log()
	for _, s := range append(tokens, secret, statusToken, "Authorization") {
		if strings.Contains(log, s) {
			t.Errorf("wrangler's output holds %q…", s[:min(12, len(s))])
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("wrangler output:\n%s", log)
	}
}
