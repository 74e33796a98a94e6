package demoprovider_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	paths := []string{demoprovider.JWKSPath, demoprovider.StatsPath, demoprovider.FaultPath}
	for _, p := range demoprovider.Profiles() {
		paths = append(paths, demoprovider.Path(p))
	}
	for _, path := range paths {
		t.Run("preflight "+path, func(t *testing.T) {
			e.t = t
			req, _ := http.NewRequest(http.MethodOptions, e.ts.URL+path, nil)
			req.Header.Set("Origin", "http://localhost:5173")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			r := e.do(req)
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Errorf("status %d body %q", r.status, r.body)
			}
			for h, want := range map[string]string{
				"Access-Control-Allow-Origin":   "*",
				"Access-Control-Allow-Methods":  "POST, GET, OPTIONS",
				"Access-Control-Allow-Headers":  "Authorization, Content-Type",
				"Access-Control-Max-Age":        "600",
				"Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate",
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s %q, want %q", h, got, want)
				}
			}
		})
	}
	if e.srv.Count() != 0 {
		t.Errorf("preflights counted as token requests: %d", e.srv.Count())
	}
	t.Run("errors carry CORS headers", func(t *testing.T) {
		e.t = t
		for _, r := range []*result{
			e.post("aluma", encJSON, clientFields("aluma")),
			e.get("/nope"),
			e.get(demoprovider.Path("aluma")),
		} {
			if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Expose-Headers") == "" {
				t.Errorf("%d without CORS headers: %v", r.status, r.header)
			}
			if r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials must never be allowed with a wildcard origin")
			}
		}
	})
}

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	if r := e.get(demoprovider.HealthPath); r.status != 200 || string(r.body) != "ok" {
		t.Errorf("healthz %d %q", r.status, r.body)
	}
	e.post("aluma", encForm, clientFields("aluma"))
	e.post("custom", encJSON, with(clientFields("custom"), "client_secret", "nope-wrong"), basic("demo-client", "x"))

	r := e.get(demoprovider.StatsPath)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("stats %d %s", r.status, r.body)
	}
	var stats struct {
		Count    int              `json:"count"`
		Requests []map[string]any `json:"requests"`
	}
	if err := json.Unmarshal(r.body, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Count != 2 || len(stats.Requests) != 2 {
		t.Fatalf("stats %s", r.body)
	}
	first, second := stats.Requests[0], stats.Requests[1]
	for _, k := range []string{"profile", "method", "path", "content_type", "fields", "basic_auth", "status", "error"} {
		if _, ok := first[k]; !ok {
			t.Errorf("stats entry lacks %q: %v", k, first)
		}
	}
	if first["profile"] != "aluma" || first["status"] != float64(200) || first["content_type"] != "application/x-www-form-urlencoded" {
		t.Errorf("first %v", first)
	}
	if second["profile"] != "custom" || second["basic_auth"] != true || second["error"] != "invalid_request" {
		t.Errorf("second %v", second)
	}
	if f, _ := second["fields"].(map[string]any); f["client_secret"] != demoprovider.RedactedWrong {
		t.Errorf("second fields %v", second["fields"])
	}
	if strings.Contains(string(r.body), "nope-wrong") {
		t.Error("stats hold the secret sent")
	}

	if r := e.get(demoprovider.ResetPath); r.status != 405 || r.header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("GET reset %d %v", r.status, r.header)
	}
	if r := e.postRaw(demoprovider.ResetPath, "", nil); r.status != 200 {
		t.Errorf("reset %d", r.status)
	}
	r = e.get(demoprovider.StatsPath)
	if string(r.body) != `{"count":0,"requests":[]}` {
		t.Errorf("after reset: %s", r.body)
	}
	if r := e.get("/nope"); r.status != 404 || r.str("error") != "not_found" {
		t.Errorf("unknown path %d %s", r.status, r.body)
	}
	if r := e.get(demoprovider.JWKSPath); r.status != 200 || string(r.body) != string(e.srv.PublicJWKS()) {
		t.Errorf("JWKS %d %s", r.status, r.body)
	}
}

// TestSecretsInOddPlaces checks that a secret sent where no secret belongs
// is scrubbed from the log too.
func TestSecretsInOddPlaces(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	e.post("custom", encForm, map[string]string{"grant_type": "client_credentials", "client_id": testSecret, "note": "x" + testPassword + "y"})
	e.postRaw(demoprovider.Path("custom"), "application/json", []byte(`{"client_secret":["\u0064emo-secret-do-not-use-in-production"],"demo-secret-do-not-use-in-production":1}`))
	e.postRaw(demoprovider.Path("custom"), testSecret, nil)
	b, _ := json.Marshal(e.srv.Requests())
	for _, s := range []string{testSecret, testPassword} {
		if strings.Contains(string(b), s) {
			t.Errorf("log holds a secret: %s", b)
		}
	}
}

// TestConcurrent exercises the server from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	if err := e.srv.Fail(demoprovider.Fault{Kind: "status", Times: 5}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	statuses := make(chan int, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, ct := encode(t, encMultipart, clientFields("alphaus-wave"))
			resp, err := http.Post(e.ts.URL+demoprovider.Path("alphaus-wave"), ct, strings.NewReader(string(body)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
			_ = e.srv.Requests()
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[500] != 5 || count[200] != 35 || e.srv.Count() != 40 {
		t.Errorf("statuses %v, count %d", count, e.srv.Count())
	}
}
