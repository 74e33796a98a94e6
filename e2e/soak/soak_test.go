//go:build unix

package soak_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/e2e/soak"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// TestShortSoak is the short version of the fault soak (the full one is
// bench/cmd/soak in ./build.sh bench): faults of 3 s between healthy
// stretches of 2 s, tokens of 4 s (so that outages outlast tokens), 8
// clients, against the core's Source and the worker in workerd at once.
// No call may fail while a valid token exists, and a failing provider is
// asked at most one attempt sequence per backoff window.
func TestShortSoak(t *testing.T) {
	harness.SkipShort(t)
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	const healthy, fault, lifetime = 2 * time.Second, 3 * time.Second, 4 * time.Second
	cfg := soak.Config{Schedule: soak.Schedule(healthy, fault), Clients: 8, Pause: 10 * time.Millisecond, CallTimeout: 10 * time.Second}
	newProvider := func() *soak.Provider {
		p, err := soak.NewProvider(demoprovider.New(demoprovider.Options{Lifetime: lifetime}))
		if err != nil {
			t.Fatal(err)
		}
		p.RetryAfter, p.SlowBy = time.Second, time.Second
		t.Cleanup(p.Close)
		return p
	}
	core, edge := newProvider(), newProvider()
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		Provider: "alphaus-ripple", TokenURL: core.URL + demoprovider.Path("alphaus-ripple"),
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoprovider.DefaultClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	dir := harness.WorkerDir(t, bundle, `{"name":"soak","main":"./worker.mjs","compatibility_date":"2026-04-01"}`, map[string]string{
		"TOKEN_PROVIDER": "alphaus-ripple", "TOKEN_URL": edge.URL + demoprovider.Path("alphaus-ripple"),
		"CLIENT_ID": demoprovider.DefaultClientID, "CLIENT_SECRET": demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS": "https://app.example.com",
	})
	w := harness.StartWorkerd(t, wrangler, dir, t.TempDir())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := make([]*soak.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		results[0], errs[0] = soak.Run(ctx, core, cfg, "core Source", soak.SourceCall(src))
	}()
	go func() {
		defer wg.Done()
		results[1], errs[1] = soak.Run(ctx, edge, cfg, "worker in workerd", soak.WorkerCall(client, w.URL+"/token", "https://app.example.com"))
	}()
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		var b strings.Builder
		soak.Print(&b, res)
		t.Log("\n" + b.String())
		for k := range res.Errors {
			if strings.Contains(k, "HTTP 500") {
				// The worker itself failed: before the entry module kept
				// answers in their own request's context, 8 to 22 calls a
				// run died of "Cannot perform I/O on behalf of a
				// different request".
				t.Errorf("%s: the worker itself failed (%s); wrangler's log:\n%s", res.Target, k, w.Log())
			}
		}
		if res.FailedValid != 0 {
			t.Errorf("%s: %d calls failed while a valid token existed, want 0", res.Target, res.FailedValid)
		}
		if res.Served < res.Calls/2 {
			t.Errorf("%s: only %d of %d calls served", res.Target, res.Served, res.Calls)
		}
		for _, p := range res.Phases {
			// A 3 s outage: attempt sequences (3 requests each) at 0, 1 and
			// 3 s of backoff, and the one that runs into it: at most 12.
			if p.Mode != soak.Healthy && p.Requests > 12 {
				t.Errorf("%s, %s: %d provider requests in %v, want at most 12", res.Target, p.Mode, p.Requests, fault)
			}
		}
	}
}
