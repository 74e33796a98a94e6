//go:build unix

package workere2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWorkerdKVAndRateLimit runs the worker with a TOKEN_KV binding (the
// store for *.workers.dev, where the Cache API does nothing) and a tight
// RATE_LIMITER binding: tokens are shared through KV, and one address
// that keeps asking gets 429 with Retry-After.
func TestWorkerdKVAndRateLimit(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	provider := newRestartable(t, demo)
	vars := env{
		worker.VarProvider:       "aluma",
		worker.VarTokenURL:       "http://" + provider.addr + demoprovider.Path("aluma"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 10, true), t.TempDir())
	client := &http.Client{Timeout: 30 * time.Second}

	for range 8 { // one after another, within the limit of 10
		if status, _, body, err := post(ctx, client, w.URL, testOrigin); err != nil || status != 200 {
			t.Errorf("KV request: got %d %v %s, want 200", status, err, body)
		}
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests for 8 sequential requests through KV: got %d, want 1", n)
	}
	limited := 0
	for range 25 {
		status, h, body, err := post(ctx, client, w.URL, testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		switch status {
		case 200:
		case 429:
			limited++
			if h.Get("Retry-After") != "60" || h.Get("Access-Control-Allow-Origin") != testOrigin {
				t.Errorf("429 headers: Retry-After %q, Access-Control-Allow-Origin %q; want 60 and the origin",
					h.Get("Retry-After"), h.Get("Access-Control-Allow-Origin"))
			}
		default:
			t.Errorf("status: got %d %s, want 200 or 429", status, body)
		}
	}
	if limited == 0 {
		t.Error("33 requests from one address with a limit of 10 a minute: got no 429")
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
}
