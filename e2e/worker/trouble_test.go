//go:build unix

package workere2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestWorkerdProviderTrouble: in workerd, a provider that goes down while
// the worker holds a token inside its refresh margin costs no request
// anything; a provider that fails while no token is held is asked at most
// once per backoff window, however many requests arrive, and each of them
// is answered 503 with Retry-After.
func TestWorkerdProviderTrouble(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	// Tokens live 30 s: the margin is the last 3 s.
	const lifetime = 30 * time.Second
	demo := demoprovider.New(demoprovider.Options{Lifetime: lifetime})
	provider := newRestartable(t, demo)
	var failing atomic.Int32 // requests to the provider that always answers 503
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failing.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"temporarily_unavailable"}`))
	}))
	defer down.Close()
	vars := func(tokenURL string) env {
		return env{
			worker.VarProvider:       "alphaus-ripple",
			worker.VarTokenURL:       tokenURL,
			worker.VarClientID:       demoprovider.DefaultClientID,
			worker.VarClientSecret:   secret,
			worker.VarAllowedOrigins: testOrigin,
		}
	}
	var held, none *devrun.Process
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		held = harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars("http://"+provider.addr+demoprovider.Path("alphaus-ripple")), 100000, false), t.TempDir())
	}()
	go func() {
		defer wg.Done()
		none = harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars(down.URL+"/token"), 100000, false), t.TempDir())
	}()
	wg.Wait()
	if held == nil || none == nil {
		t.FailNow()
	}
	token := func(w *devrun.Process) func(int) answer {
		return func(int) answer { return do(ctx, client, "POST", w.URL+"/token", "Origin", testOrigin) }
	}
	asked := time.Now() // the token's life began after this
	if a := token(held)(0); a.status != 200 {
		t.Fatalf("first token: got %v", a)
	}
	obtained := time.Now()

	t.Run("no token held: one attempt sequence per backoff window", func(t *testing.T) {
		t0 := time.Now()
		answers := parallel(200, 8, token(none))
		elapsed := time.Since(t0)
		withRetryAfter := 0
		for i, a := range answers {
			if a.status != 503 || a.body["error"] != "temporarily_unavailable" {
				t.Fatalf("answer %d: got %v, want 503 temporarily_unavailable", i, a)
			}
			if a.header.Get("Retry-After") != "" {
				withRetryAfter++
			}
		}
		// The core tries 3 times a renewal; windows of 1, 2, 4 … s follow.
		windows := 1
		for w := time.Second; w < elapsed; w *= 2 {
			windows++
		}
		if n := int(failing.Load()); n > 3*windows {
			t.Errorf("provider requests for 200 calls in %v: got %d, want at most %d (3 per backoff window)", elapsed.Round(time.Millisecond), n, 3*windows)
		}
		if withRetryAfter < 150 {
			t.Errorf("answers with Retry-After: got %d of 200, want nearly all (those repeating the failure)", withRetryAfter)
		}
		t.Logf("200 calls in %v: %d provider requests, %d answers with Retry-After", elapsed.Round(time.Millisecond), failing.Load(), withRetryAfter)
	})

	t.Run("provider down inside the margin: every call served", func(t *testing.T) {
		// Into the margin (the last 3 s), with a second of room.
		time.Sleep(time.Until(obtained.Add(lifetime - 2500*time.Millisecond)))
		provider.stop()
		t0 := time.Now()
		// A call that ends after the token has expired may rightly be
		// refused (nothing valid is left to serve): on a busy machine the
		// 200 calls can outlast the last 2.5 s. Every call that ended while
		// the token was valid must have been served.
		expires := asked.Add(lifetime - time.Second) // a second of slack for the clocks
		late := make([]bool, 200)
		call := token(held)
		answers := parallel(200, 8, func(i int) answer {
			a := call(i)
			late[i] = time.Now().After(expires)
			return a
		})
		served, checked := 0, 0
		for i, a := range answers {
			if a.status == 200 && a.body["access_token"] != nil {
				served++
			}
			if late[i] {
				continue
			}
			checked++
			if a.status != 200 || a.body["access_token"] == nil {
				t.Fatalf("answer %d after %v: got %v, want 200 with the held token", i, time.Since(t0), a)
			}
		}
		if checked < 50 {
			t.Fatalf("only %d of 200 calls ended while the token was valid: the machine is too slow for this check", checked)
		}
		t.Logf("200 calls inside the margin with the provider down, in %v: %d ended while the token was valid, all served; %d served in all", time.Since(t0).Round(time.Millisecond), checked, served)
	})
}
