//go:build unix

package workere2e_test

// The worker's log lines and route status in bare workerd: what workerd
// prints of the Worker's console (devrun runs it with --verbose, the
// harness captures its output) is parsed line by line as JSON.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/worker"
)

// workerdEvents parses every line of workerd's (or wrangler dev's) output
// that holds one of the worker's JSON lines (either may prefix what the
// console printed);
// a line that starts like one and does not parse fails the test.
func workerdEvents(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, `{"time":`)
		if i < 0 {
			continue
		}
		// wrangler dev may color a console.warn line: the JSON ends at
		// the last brace.
		j := strings.LastIndex(line, "}")
		var m map[string]any
		if err := json.Unmarshal([]byte(line[i:max(i, j+1)]), &m); err != nil {
			t.Errorf("not a JSON line: %v: %q", err, line)
			continue
		}
		out = append(out, m)
	}
	return out
}

func eventsOf(evs []map[string]any, name, route string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["event"] == name && (route == "" || e["route"] == route) {
			out = append(out, e)
		}
	}
	return out
}

func get(ctx context.Context, t *testing.T, u string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestBareWorkerdOpsLogs: in workerd, a provider request, a rejected
// client, a misconfigured route and 1,000 forged /api/ tokens each give
// their JSON lines (the forged tokens a handful, with the right count),
// the status shows the route to its token's holder only, and no line
// holds any secret or token of the run.
func TestBareWorkerdOpsLogs(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }))
	defer api.Close()

	const statusToken = "ops-status-token-5a4b3c2d1e0f"
	const wrongSecret = "ops-wrong-secret-0f1e2d3c4b5a"
	mint := bareMint(t, "gateway", bundle, provider.URL, api.URL)
	mint.Vars[worker.VarStatusToken] = statusToken
	mint.Vars[worker.VarRefusalLogPeriod] = "2"
	signingKey := mint.Vars[worker.VarSigningKey]
	pass := devrun.Service{Name: "pass", Src: bundle, Files: devrun.BundleFiles, Vars: holderVars(strings.TrimPrefix(provider.URL, "http://"))}
	refused := devrun.Service{Name: "refused", Src: bundle, Files: devrun.BundleFiles, Vars: holderVars(strings.TrimPrefix(provider.URL, "http://")).with(worker.VarClientSecret, wrongSecret)}
	broken := devrun.Service{Name: "broken", Src: bundle, Files: devrun.BundleFiles, Vars: holderVars("127.0.0.1:1").with(worker.VarTokenURL, "ftp://leak-marker-77.example/token")}
	w := harness.StartBareWorkerd(t, mint, pass, refused, broken)
	gw, passURL, refusedURL, brokenURL := w.URLs[0], w.URLs[1], w.URLs[2], w.URLs[3]

	// A provider request (pass), a rejected client, a misconfigured route.
	status, _, body, err := post(ctx, http.DefaultClient, passURL, testOrigin)
	var pt struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || status != 200 || json.Unmarshal(body, &pt) != nil {
		t.Fatalf("pass POST /token: %d %s %v", status, body, err)
	}
	if status, _, body, _ := post(ctx, http.DefaultClient, refusedURL, testOrigin); status == 200 {
		t.Fatalf("a wrong secret got a token: %s", body)
	}
	if status, _, _, _ := post(ctx, http.DefaultClient, brokenURL, testOrigin); status != 500 {
		t.Fatalf("misconfigured route: %d", status)
	}

	// Mode mint: one good call (the provider token), then 1,000 forged.
	minted := mintFor(ctx, t, gw, testOrigin)
	if code, b := callAPI(ctx, t, gw+"/api/items", testOrigin, "Bearer "+minted); code != 200 {
		t.Fatalf("good call: %d %s", code, b)
	}
	forged := make([]string, 1000)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if code, b := callAPI(ctx, t, gw+"/api/items", testOrigin, "Bearer "+forged[i]); code != 401 {
					t.Errorf("forged token %d: %d %s", i, code, b)
				}
			}
		}()
	}
	for i := range forged {
		forged[i] = fmt.Sprintf("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJvcHMifQ.ops-forged-%04d", i)
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// The status: not without the token, not with a wrong one.
	for _, auth := range []string{"", "Bearer wrong"} {
		if code, b := get(ctx, t, gw+"/status", "Authorization", auth, "Origin", testOrigin); code != 401 {
			t.Errorf("status with %q: %d %s", auth, code, b)
		}
	}
	code, b := get(ctx, t, gw+"/status", "Authorization", "Bearer "+statusToken)
	var st struct {
		Routes []worker.RouteStatus `json:"routes"`
	}
	if code != 200 || json.Unmarshal([]byte(b), &st) != nil || len(st.Routes) != 1 {
		t.Fatalf("status: %d %s", code, b)
	}
	r := st.Routes[0]
	if !r.TokenHeld || r.ExpiresInS < 3600 || r.Mode != "mint" || fmt.Sprint(r.Sources) != "[cache_api provider]" ||
		r.LastRenewal == nil || r.LastRenewal.From != "provider" || r.LastRenewal.Status != 200 || r.Refusals["invalid_token"] != 1000 {
		t.Errorf("status: %s", b)
	}

	// After REFUSAL_LOG_PERIOD, the next request logs the count.
	time.Sleep(2500 * time.Millisecond)
	get(ctx, t, gw+"/healthz")
	time.Sleep(500 * time.Millisecond) // workerd prints asynchronously

	log := w.Log()
	evs := workerdEvents(t, log)
	if e := eventsOf(evs, worker.EventToken, "/"); len(e) != 2 || e[0]["from"] != "provider" || e[0]["status"] != 200.0 || e[1]["from"] != "provider" {
		t.Errorf("token lines (pass and mint): %v", e)
	}
	if e := eventsOf(evs, worker.EventRenewalFailed, ""); len(e) != 1 || e[0]["code"] != "invalid_client" || e[0]["status"] != 401.0 || e[0]["level"] != "error" {
		t.Errorf("renewal_failed lines: %v", e)
	}
	if e := eventsOf(evs, worker.EventMisconfigured, ""); len(e) != 1 || e[0]["var"] != worker.VarTokenURL {
		t.Errorf("misconfigured lines: %v", e)
	}
	ref := eventsOf(evs, worker.EventRefusals, "")
	total := map[string]float64{}
	for _, e := range ref {
		total[e["reason"].(string)] += e["count"].(float64)
	}
	if len(ref) > 5 || total["invalid_token"] != 1000 || total["status_unauthorized"] != 2 {
		t.Errorf("%d refusal lines, totals %v:\n%v", len(ref), total, ref)
	}
	// console.warn and console.error lines are JSON too, and each level
	// went where it should (workerd marks none; the level field says it).
	for _, e := range evs {
		if e["level"] != "info" && e["level"] != "warn" && e["level"] != "error" {
			t.Errorf("level: %v", e)
		}
	}
	for _, s := range append(forged, secret, wrongSecret, statusToken, signingKey, minted, pt.AccessToken, "leak-marker-77", "Authorization") {
		if strings.Contains(log, s) {
			t.Errorf("workerd's output holds %q…", s[:min(12, len(s))])
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("workerd output:\n%s", log)
	}
}

// TestBareWorkerdOpsHolderAndStale: in workerd, an isolate taking its
// token from the TOKEN_HOLDER object logs it as from "object" (the object
// logs its own provider request); an isolate the object does not serve
// (another configuration: 409) logs the fallback; and a renewal the
// provider refuses while the held token is still valid logs
// renewal_failed and stale_token. Every line is JSON, none holds a
// secret or token.
func TestBareWorkerdOpsHolderAndStale(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const lifetime = 20 * time.Second // refresh margin 2 s
	demo := demoprovider.New(demoprovider.Options{Lifetime: lifetime})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	addr := strings.TrimPrefix(provider.URL, "http://")
	svcs := isolates(bundle, addr, 2, true, nil)
	// Another configuration (the password grant) bound to the same
	// object: the object answers 409 for its key.
	svcs[1].Vars = env(svcs[1].Vars).with(worker.VarGrantType, "password", worker.VarUsername, demoprovider.DefaultUsername, worker.VarPassword, demoprovider.DefaultPassword)
	alone := devrun.Service{Name: "alone", Src: bundle, Files: devrun.BundleFiles, Vars: holderVars(addr)}
	w := harness.StartBareWorkerd(t, append(svcs, alone)...)

	var tokens []string
	tokenOf := func(u string) {
		t.Helper()
		status, _, body, err := post(ctx, http.DefaultClient, u, testOrigin)
		var m struct {
			AccessToken string `json:"access_token"`
		}
		if err != nil || status != 200 || json.Unmarshal(body, &m) != nil {
			t.Fatalf("POST %s/token: %d %s %v", u, status, body, err)
		}
		tokens = append(tokens, m.AccessToken)
	}
	tokenOf(w.URLs[0])
	tokenOf(w.URLs[1])
	start := time.Now()
	tokenOf(w.URLs[2])
	// Inside the margin, the provider refuses the client: the held token
	// serves, the renewal's failure and the stale token are logged.
	time.Sleep(time.Until(start.Add(lifetime - 1500*time.Millisecond)))
	demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 401, Times: 10})
	tokenOf(w.URLs[2])

	deadline := time.Now().Add(20 * time.Second)
	var evs []map[string]any
	for {
		evs = workerdEvents(t, w.Log())
		if len(eventsOf(evs, worker.EventStaleToken, "")) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	froms := map[string]int{}
	for _, e := range eventsOf(evs, worker.EventToken, "") {
		froms[e["from"].(string)]++
	}
	// isolate-0 from the object, the object and isolate-1 and alone from
	// the provider.
	if froms["object"] != 1 || froms["provider"] != 3 {
		t.Errorf("token lines by source: %v", froms)
	}
	if e := eventsOf(evs, worker.EventHolderFallback, ""); len(e) != 1 || !strings.Contains(e[0]["msg"].(string), "another configuration") || e[0]["level"] != "warn" {
		t.Errorf("fallback lines: %v", e)
	}
	if e := eventsOf(evs, worker.EventRenewalFailed, ""); len(e) != 1 || e[0]["code"] != "invalid_client" {
		t.Errorf("renewal_failed lines: %v", e)
	}
	if e := eventsOf(evs, worker.EventStaleToken, ""); len(e) != 1 || e[0]["expires_in_s"].(float64) <= 0 {
		t.Errorf("stale_token lines: %v", e)
	}
	log := w.Log()
	for _, s := range append(tokens, secret, demoprovider.DefaultPassword, "Authorization") {
		if strings.Contains(log, s) {
			t.Errorf("workerd's output holds %q…", s[:min(12, len(s))])
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("workerd output:\n%s", log)
	}
}
