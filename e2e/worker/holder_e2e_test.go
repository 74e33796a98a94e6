//go:build unix

package workere2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/worker"
)

// holderConfig is the wrangler.jsonc of a test worker with the
// TOKEN_HOLDER Durable Object bound (the binding and migration that
// worker/wrangler.jsonc documents, commented out).
const holderConfig = `{
  "name": "tokenhelper-e2e-holder",
  "main": "./worker.mjs",
  "compatibility_date": "2026-04-01",
  "durable_objects": { "bindings": [{ "name": "TOKEN_HOLDER", "class_name": "TokenHolder" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["TokenHolder"] }],
  "observability": { "enabled": false }
}
`

// holderVars points a worker at the demo provider's alphaus-ripple
// profile, which issues (rotating) refresh tokens.
func holderVars(addr string) env {
	return env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       "http://" + addr + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
	}
}

// burst sends n POST /token, conc at once, and checks every answer: 200,
// exactly access_token, token_type and expires_in, no secret or refresh
// token anywhere in it; keep, if given, receives each answer (headers and
// body) as text. It returns the access tokens seen.
func burst(ctx context.Context, t *testing.T, url string, n, conc int, keep ...func(string)) map[string]bool {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	var mu sync.Mutex
	seen := map[string]bool{}
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				status, h, body, err := post(ctx, client, url, testOrigin)
				if err != nil || status != 200 {
					t.Errorf("POST /token: got %d %v %s, want 200", status, err, body)
					continue
				}
				var all strings.Builder
				all.Write(body)
				for k, vs := range h {
					all.WriteString("\n" + k + ": " + strings.Join(vs, ","))
				}
				for _, bad := range []string{secret, "refresh", "id_token"} {
					if strings.Contains(strings.ToLower(all.String()), bad) {
						t.Errorf("an answer to the browser holds %q: %s", bad, all.String())
					}
				}
				for _, k := range keep {
					k(all.String())
				}
				var m map[string]any
				json.Unmarshal(body, &m)
				var keys []string
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if got := strings.Join(keys, ","); got != "access_token,expires_in,token_type" {
					t.Errorf("fields: got %s, want access_token,expires_in,token_type", got)
				}
				mu.Lock()
				seen[m["access_token"].(string)] = true
				mu.Unlock()
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return seen
}

// TestWorkerdTokenHolder runs the worker with the TOKEN_HOLDER binding:
// a burst of concurrent requests makes 1 provider request; wrangler
// restarted on the same persist directory (a new isolate with an empty
// memory and a new instance of the object, which must read its storage)
// makes 0 more, across two restarts; no answer holds the refresh token.
func TestWorkerdTokenHolder(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	provider := newRestartable(t, demo)
	persist := t.TempDir()
	dir := harness.WorkerDir(t, bundle, holderConfig, holderVars(provider.addr))

	var first map[string]bool
	for run := range 3 {
		w := harness.StartWorkerd(t, wrangler, dir, persist)
		seen := burst(ctx, t, w.URL, 50, 8)
		if len(seen) != 1 {
			t.Errorf("run %d: got %d distinct tokens, want 1", run, len(seen))
		}
		if run == 0 {
			first = seen
		} else {
			for tok := range seen {
				if !first[tok] {
					t.Errorf("run %d (wrangler restarted): a new token, want the object's stored one", run)
				}
			}
		}
		if n := demo.Count(); n != 1 {
			t.Errorf("run %d: provider requests after %d requests: got %d, want 1", run, 50*(run+1), n)
		}
		if strings.Contains(w.Log(), "TOKEN_HOLDER object failed") {
			t.Errorf("run %d: the isolate fell back to its own path:\n%s", run, w.Log())
		}
		w.Stop()
	}
	t.Logf("provider requests for 150 requests over 3 wrangler runs (same persist dir): %d", demo.Count())

	// The control: the same worker without the binding, on the same
	// persist directory, finds nothing in its Cache API (which persists
	// there: see TestWorkerd's restart) and asks the provider. So the
	// tokens above came from the object, not from an isolate's own path.
	plain := strings.Replace(holderConfig, `"durable_objects": { "bindings": [{ "name": "TOKEN_HOLDER", "class_name": "TokenHolder" }] },`, "", 1)
	w := harness.StartWorkerd(t, wrangler, harness.WorkerDir(t, bundle, plain, holderVars(provider.addr)), persist)
	burst(ctx, t, w.URL, 8, 8)
	if n := demo.Count(); n != 2 {
		t.Errorf("without the binding, same persist dir: provider requests got %d in all, want 2 (one new: the isolates never published to the Cache API)", n)
	}
	w.Stop()
	burst2 := harness.StartWorkerd(t, wrangler, harness.WorkerDir(t, bundle, plain, holderVars(provider.addr)), persist)
	burst(ctx, t, burst2.URL, 8, 8)
	if n := demo.Count(); n != 2 {
		t.Errorf("without the binding, restarted: provider requests got %d in all, want still 2 (its Cache API persisted)", n)
	}
}

// TestWorkerdTokenHolderRenewsWithTheRefreshToken: tokens of 4 s; once
// the first has expired, the object renews with its stored refresh
// token (not a new grant), still once for a burst.
func TestWorkerdTokenHolderRenewsWithTheRefreshToken(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{Lifetime: 4 * time.Second})
	provider := newRestartable(t, demo)
	dir := harness.WorkerDir(t, bundle, holderConfig, holderVars(provider.addr))
	w := harness.StartWorkerd(t, wrangler, dir, t.TempDir())
	burst(ctx, t, w.URL, 16, 8)
	time.Sleep(4500 * time.Millisecond)
	burst(ctx, t, w.URL, 16, 8)
	reqs := demo.Requests()
	var grants []string
	for _, r := range reqs {
		grants = append(grants, r.Fields["grant_type"])
	}
	if got := strings.Join(grants, ","); got != "client_credentials,refresh_token" {
		t.Errorf("provider requests: got %q, want client_credentials,refresh_token", got)
	}
}
