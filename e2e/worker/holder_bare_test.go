//go:build unix

package workere2e_test

// The TOKEN_HOLDER Durable Object across separate isolates, in bare
// workerd: four worker services (none derived from another, so four
// isolates with four Go instances), bound to one namespace through
// serviceName, as many isolates of one worker are on Cloudflare.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

// isolates are n services running bundle against the provider at addr,
// the first defining the TokenHolder namespace and the others bound to it
// when holder is set; extra vars are added to each.
func isolates(bundle, addr string, n int, holder bool, extra env) []devrun.Service {
	svcs := make([]devrun.Service, n)
	for i := range svcs {
		vars := holderVars(addr)
		for k, v := range extra {
			vars[k] = v
		}
		svcs[i] = devrun.Service{Name: fmt.Sprintf("isolate-%d", i), Src: bundle, Files: devrun.BundleFiles, Vars: vars}
		if holder {
			svcs[i].Holder = i == 0
			if i > 0 {
				svcs[i].HolderOf = svcs[0].Name
			}
		}
	}
	return svcs
}

// burstAll runs burst (n requests, conc at once) against every URL at the
// same time and returns the access tokens seen.
func burstAll(ctx context.Context, t *testing.T, urls []string, n, conc int, keep ...func(string)) map[string]bool {
	var mu sync.Mutex
	all := map[string]bool{}
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := burst(ctx, t, u, n, conc, keep...)
			mu.Lock()
			defer mu.Unlock()
			for k := range seen {
				all[k] = true
			}
		}()
	}
	wg.Wait()
	return all
}

// TestBareWorkerdHolderAcrossIsolates: 4 isolates, each hit by 50
// requests at 8 at once on an empty cache, make 1 provider request in all
// with the object, and one per isolate without it (the control, in the
// same run); once the token has expired, a second burst at all 4 makes
// exactly one more, a refresh_token grant by the object.
func TestBareWorkerdHolderAcrossIsolates(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 4

	without := demoprovider.New(demoprovider.Options{})
	p0 := httptest.NewServer(without)
	defer p0.Close()
	w0 := harness.StartBareWorkerd(t, isolates(bundle, p0.Listener.Addr().String(), n, false, nil)...)
	burstAll(ctx, t, w0.URLs, 50, 8)
	w0.Stop()
	if got := without.Count(); got < n {
		t.Errorf("without the object: %d provider requests for %d isolates, want at least one per isolate (is each service really an isolate of its own?)", got, n)
	}

	demo := demoprovider.New(demoprovider.Options{Lifetime: 4 * time.Second})
	p1 := httptest.NewServer(demo)
	defer p1.Close()
	w := harness.StartBareWorkerd(t, isolates(bundle, p1.Listener.Addr().String(), n, true, nil)...)
	first := burstAll(ctx, t, w.URLs, 50, 8)
	if got := demo.Count(); got != 1 || len(first) != 1 {
		t.Errorf("with the object: %d provider requests and %d distinct tokens for 4x50 requests, want 1 and 1", got, len(first))
	}
	t.Logf("provider requests for 4 isolates x 50 requests at 8: %d with the TOKEN_HOLDER object, %d without", demo.Count(), without.Count())

	time.Sleep(4500 * time.Millisecond) // the token has expired everywhere
	second := burstAll(ctx, t, w.URLs, 20, 8)
	var grants []string
	for _, r := range demo.Requests() {
		grants = append(grants, r.Fields["grant_type"])
	}
	if got := strings.Join(grants, ","); got != "client_credentials,refresh_token" {
		t.Errorf("provider requests after the renewal burst: %q, want client_credentials,refresh_token", got)
	}
	for tok := range second {
		if first[tok] {
			t.Errorf("after expiry an isolate still hands out the expired token")
		}
	}
	if strings.Contains(w.Log(), "TOKEN_HOLDER object failed") {
		t.Errorf("an isolate fell back to its own path:\n%s", w.Log())
	}
}

// refreshRecorder serves h and keeps every refresh_token it answers.
type refreshRecorder struct {
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (rr *refreshRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	rr.h.ServeHTTP(rec, r)
	var m struct {
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &m) == nil && m.RefreshToken != "" {
		rr.mu.Lock()
		rr.seen = append(rr.seen, m.RefreshToken)
		rr.mu.Unlock()
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (rr *refreshRecorder) tokens() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.seen...)
}

// TestBareWorkerdHolderKilledMidRenewal: the object's Go instance dies
// after the provider answered and before it handed the token out (the
// testhooks build's TEST_HOLDER_CRASH), on every renewal. The 4 isolates
// fall back to their own path and keep answering, say so in their log,
// and nothing they answer holds the secret or any refresh token the
// provider issued.
func TestBareWorkerdHolderKilledMidRenewal(t *testing.T) {
	bundle := harness.WorkerBundle(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := demoprovider.New(demoprovider.Options{})
	rec := &refreshRecorder{h: demo}
	p := httptest.NewServer(rec)
	defer p.Close()
	w := harness.StartBareWorkerd(t, isolates(bundle, p.Listener.Addr().String(), 4, true, env{"TEST_HOLDER_CRASH": "mid-renewal"})...)
	var mu sync.Mutex
	var answers []string
	keep := func(a string) { mu.Lock(); answers = append(answers, a); mu.Unlock() }
	burstAll(ctx, t, w.URLs, 20, 8, keep)
	if !strings.Contains(w.Log(), "test hook: the TOKEN_HOLDER object's instance dies mid-renewal") {
		t.Errorf("the object's instance was not killed (is this the testhooks build?):\n%s", w.Log())
	}
	if !strings.Contains(w.Log(), "TOKEN_HOLDER object failed") {
		t.Errorf("no isolate said it fell back to its own path:\n%s", w.Log())
	}
	// And again, once every isolate holds its own token.
	burstAll(ctx, t, w.URLs, 20, 8, keep)
	issued := rec.tokens()
	if len(issued) == 0 {
		t.Fatalf("the provider issued no refresh token: a search for one proves nothing")
	}
	hits := 0
	for _, a := range answers {
		for _, bad := range append(issued, secret) {
			if strings.Contains(a, bad) {
				hits++
			}
		}
	}
	if hits != 0 || len(answers) != 160 {
		t.Errorf("%d answers searched for the secret and %d refresh tokens: %d hits, want 160 answers and 0 hits", len(answers), len(issued), hits)
	}
	t.Logf("provider requests with the object killed at each renewal: %d; %d answers, 0 holding the secret or any of the %d refresh tokens issued", demo.Count(), len(answers), len(issued))
}
