//go:build unix

package workere2e_test

// Upstream 401s with the TOKEN_HOLDER object (issue 19, item 2): the
// renewal an API's 401 forces goes through the object, which renews once
// per floor however many isolates and 401s ask, and never hands the
// refused token back as if it were new.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestBareWorkerdHolderRefusedTokenOncePerFloor: 4 isolates in mode
// mint, bound to one TOKEN_HOLDER namespace, in front of an API that
// answers 401 to everything. Two rounds of 5 POSTs (1-byte bodies, which
// the gateway retries once after a 401) at each isolate at once: the
// first round costs the provider exactly one request beyond the first
// token, and the retries use the renewed token; the second round, within
// the object's floor, costs none.
func TestBareWorkerdHolderRefusedTokenOncePerFloor(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	p := httptest.NewServer(demo)
	defer p.Close()
	var mu sync.Mutex
	seen := map[string]int{} // provider token -> API calls carrying it
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer api.Close()
	_, key := testkeys.Ed25519(t)
	const n = 4
	svcs := isolates(bundle, p.Listener.Addr().String(), n, true, env{
		worker.VarMode: "mint", worker.VarSigningKey: strings.TrimSpace(key), worker.VarUpstream: api.URL + "/v1",
	})
	w := harness.StartBareWorkerd(t, svcs...)
	minted := make([]string, n)
	for i, u := range w.URLs {
		minted[i] = mintFor(ctx, t, u, testOrigin)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	round := func() {
		var wg sync.WaitGroup
		for i, u := range w.URLs {
			for range 5 {
				wg.Go(func() {
					req, _ := http.NewRequestWithContext(ctx, "POST", u+"/api/refused", strings.NewReader("x"))
					req.Header.Set("Origin", testOrigin)
					req.Header.Set("Authorization", "Bearer "+minted[i])
					res, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					if res.StatusCode != 401 {
						t.Errorf("POST /api/refused at isolate %d: got %d, want the API's 401", i, res.StatusCode)
					}
				})
			}
		}
		wg.Wait()
	}
	round()
	first := demo.Count()
	mu.Lock()
	tokens := len(seen)
	mu.Unlock()
	round()
	t.Logf("4 isolates x 5 POSTs answered 401, twice: %d provider requests after the first round (the first token and one renewal), %d after the second (within the floor); %d distinct provider tokens reached the API", first, demo.Count(), tokens)
	if first != 2 || tokens != 2 {
		t.Errorf("first round: %d provider requests and %d distinct tokens at the API, want 2 and 2 (one renewal through the object, the refused token not handed back)", first, tokens)
	}
	if demo.Count() != first {
		t.Errorf("second round within the floor: %d more provider requests, want none", demo.Count()-first)
	}
	if strings.Contains(w.Log(), "TOKEN_HOLDER object failed") {
		t.Errorf("an isolate fell back to its own path:\n%s", w.Log())
	}
}
