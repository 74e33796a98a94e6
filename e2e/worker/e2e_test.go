//go:build unix

package workere2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWorkerd runs the built worker in real workerd against the demo
// provider (in this process, so its request count can be asserted):
// tokens for allowed origins only, the cache holding across requests,
// Go instances and a workerd restart, recovery from a provider outage,
// and the caller gate.
func TestWorkerd(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	demo := demoprovider.New(demoprovider.Options{})
	provider := newRestartable(t, demo)
	keys := testkeys.NewIssuer(t, callerIssuer, callerAudience)
	base := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       "http://" + provider.addr + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	persist := t.TempDir()
	dir := workerDir(t, bundle, base, 100000, false)

	// check sends one request and checks the answer has no secret in it.
	check := func(w *devrun.Process, origin string, hdr ...string) (int, map[string]any) {
		t.Helper()
		status, h, body, err := post(ctx, client, w.URL, origin, hdr...)
		if err != nil {
			t.Fatalf("POST /token: %v", err)
		}
		all := string(body)
		for k, v := range h {
			all += "\n" + k + ": " + strings.Join(v, ",")
		}
		for _, s := range []string{secret, url.QueryEscape(secret), base64.StdEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(all, s) {
				t.Fatalf("answer holds the client secret:\n%s", strings.ReplaceAll(all, s, "****"))
			}
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		return status, m
	}
	burst := func(w *devrun.Process, n, par int) (failures int32) {
		var wg sync.WaitGroup
		var bad atomic.Int32
		sem := make(chan struct{}, par)
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				status, _, body, err := post(ctx, client, w.URL, testOrigin)
				if err != nil || status != 200 || !strings.Contains(string(body), `"access_token"`) {
					bad.Add(1)
				}
			}()
		}
		wg.Wait()
		return bad.Load()
	}

	start := time.Now()
	w1 := harness.StartWorkerd(t, wrangler, dir, persist)
	t.Logf("workerd ready in %v", time.Since(start).Round(time.Millisecond))

	t.Run("burst of 200 at 8 in flight, then 200 more", func(t *testing.T) {
		t0 := time.Now()
		if bad := burst(w1, 200, 8); bad != 0 {
			t.Errorf("failed requests: got %d, want 0", bad)
		}
		first := demo.Count()
		if first < 1 || first > 8 {
			t.Errorf("provider requests for 200 at 8 in flight: got %d, want 1 to 8", first)
		}
		if bad := burst(w1, 200, 8); bad != 0 {
			t.Errorf("failed requests: got %d, want 0", bad)
		}
		if n := demo.Count() - first; n != 0 {
			t.Errorf("provider requests for the second 200: got %d, want 0", n)
		}
		t.Logf("400 requests in %v; provider served %d", time.Since(t0).Round(time.Millisecond), demo.Count())
	})

	t.Run("allowed origin gets the provider's token", func(t *testing.T) {
		status, m := check(w1, testOrigin)
		if status != 200 {
			t.Fatalf("status: got %d, want 200 (%v)", status, m)
		}
		tok, _ := m["access_token"].(string)
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("access_token is not a JWT: %q", tok)
		}
		claims, _ := jwt.NewParser().DecodeSegment(parts[1])
		if !strings.Contains(string(claims), `"provider":"alphaus-ripple"`) {
			t.Errorf("access_token claims: got %s, want the demo provider's", claims)
		}
		if e, _ := m["expires_in"].(float64); e <= 0 || e > 86400 {
			t.Errorf("expires_in: got %v, want 1..86400", m["expires_in"])
		}
		if _, ok := m["refresh_token"]; ok {
			t.Error("answer holds the refresh_token")
		}
	})

	t.Run("other origins get 403", func(t *testing.T) {
		for _, o := range []string{"", "https://evil.example", testOrigin + ".evil.example"} {
			if status, m := check(w1, o); status != 403 || m["error"] != "origin_not_allowed" {
				t.Errorf("origin %q: got %d %v, want 403 origin_not_allowed", o, status, m)
			}
		}
	})

	t.Run("restart with the cache persisted: no new provider request", func(t *testing.T) {
		w1.Stop()
		before := demo.Count()
		w2 := harness.StartWorkerd(t, wrangler, dir, persist)
		if status, m := check(w2, testOrigin); status != 200 {
			t.Fatalf("status: got %d, want 200 (%v)", status, m)
		}
		if n := demo.Count() - before; n != 0 {
			t.Errorf("provider requests after a restart with the cache kept: got %d, want 0", n)
		}
		w2.Stop()
	})

	// A fresh cache, the caller gate on, and the provider down at first.
	gated := workerDir(t, bundle, callerEnv(keys, base), 100000, false)
	w3 := harness.StartWorkerd(t, wrangler, gated, t.TempDir())
	valid := func() []string { return []string{"Authorization", "Bearer " + keys.Sign(time.Now(), nil)} }

	t.Run("provider down: 503, then recovery without restart", func(t *testing.T) {
		provider.stop()
		before := demo.Count()
		status, m := check(w3, testOrigin, valid()...)
		if status != 503 {
			t.Errorf("provider down: got %d %v, want 503", status, m)
		}
		provider.start(t)
		// Inside the backoff the failure is repeated without a request,
		// with the time until the next attempt.
		h := http.Header{}
		status, h, _, _ = post(ctx, client, w3.URL, testOrigin, valid()...)
		wait, _ := strconv.Atoi(h.Get("Retry-After"))
		if status != 503 || wait < 1 || demo.Count() != before {
			t.Errorf("provider back, inside the backoff: got %d, Retry-After %q, %d provider requests; want 503, a wait, none", status, h.Get("Retry-After"), demo.Count()-before)
		}
		time.Sleep(time.Duration(wait) * time.Second)
		status, m = check(w3, testOrigin, valid()...)
		if status != 200 {
			t.Errorf("provider back, after the backoff: got %d %v, want 200", status, m)
		}
		if n := demo.Count() - before; n != 1 {
			t.Errorf("provider requests with the cache empty: got %d, want 1", n)
		}
	})

	t.Run("caller JWT refused: wrong audience, expired, alg none, missing", func(t *testing.T) {
		now := time.Now()
		for name, hdr := range map[string][]string{
			"wrong audience": {"Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["aud"] = "another-app" })},
			"expired": {"Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) {
				c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
			})},
			"alg none": {"Authorization", "Bearer " + keys.Unsigned(now)},
			"missing":  nil,
		} {
			if status, m := check(w3, testOrigin, hdr...); status != 401 || m["error"] != "invalid_token" {
				t.Errorf("%s: got %d %v, want 401 invalid_token", name, status, m)
			}
		}
		if status, m := check(w3, testOrigin, valid()...); status != 200 {
			t.Errorf("valid caller: got %d %v, want 200", status, m)
		}
		if n := keys.Fetches(); n != 1 {
			t.Errorf("caller JWKS fetches: got %d, want 1 (cached)", n)
		}
	})

	t.Run("no secret in the workerd log", func(t *testing.T) {
		for _, w := range []*devrun.Process{w1, w3} {
			if strings.Contains(w.Log(), secret) {
				t.Errorf("wrangler output holds the client secret")
			}
		}
	})
	t.Logf("end-to-end total %v", time.Since(start).Round(time.Millisecond))
}
