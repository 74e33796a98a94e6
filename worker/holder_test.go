//go:build !js

package worker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/fingerprint"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/worker"
)

// holderFixture is the fixture's provider behind one Holder (the
// Durable Object, its storage a MemoryStore that outlives it), served
// over HTTP as the stub fetch reaches it.
type holderFixture struct {
	*fixture
	storage *worker.MemoryStore
	holder  *worker.Holder
	srv     *httptest.Server
	asks    atomic.Int64
}

func newHolderFixture(t *testing.T) *holderFixture {
	t.Helper()
	f := &holderFixture{fixture: newFixture(t)}
	f.storage = &worker.MemoryStore{Now: f.clock.Now}
	f.holder = f.newHolder()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.asks.Add(1)
		f.holder.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// newHolder is the object after an eviction: a fresh instance, the same
// storage.
func (f *holderFixture) newHolder() *worker.Holder {
	return &worker.Holder{Getenv: f.env.get, Transport: nethttp.New(nil), Store: f.storage, Clock: f.clock, Timeout: 2 * time.Second}
}

// stub is the binding's stub fetch: HolderURL, sent to the holder.
func (f *holderFixture) stub() tokenhelper.Transport {
	tr := nethttp.New(nil)
	return tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		c := *r
		c.URL = strings.Replace(r.URL, "https://token-holder.invalid", f.srv.URL, 1)
		return tr.RoundTrip(ctx, &c)
	})
}

// isolate is a Worker isolate with the TOKEN_HOLDER binding: a Handler
// with its own Store (its own location's cache), asking the holder.
func (f *holderFixture) isolate(log func(string)) *worker.Handler {
	return &worker.Handler{
		Getenv: f.env.get, Transport: nethttp.New(nil), Store: &worker.MemoryStore{Now: f.clock.Now}, Clock: f.clock,
		Timeout: 2 * time.Second, RefreshMargin: worker.IsolateMargin,
		Coordinator: &worker.HolderCoordinator{Transport: f.stub(), Clock: f.clock, Log: log},
	}
}

func (f *holderFixture) key(t *testing.T) string {
	t.Helper()
	key, err := worker.TokenKey(f.env.get)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// ask sends one ask of the holder directly and returns the answer.
func (f *holderFixture) ask(t *testing.T, key string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/token", nil)
	r.Header.Set(worker.HolderKeyHeader, key)
	w := httptest.NewRecorder()
	f.holder.ServeHTTP(w, r)
	noSecrets(t, w)
	return w
}

func TestHolderOneProviderRequestForManyIsolates(t *testing.T) {
	f := newHolderFixture(t)
	var isolates []*worker.Handler
	for range 4 {
		isolates = append(isolates, f.isolate(nil))
	}
	var wg sync.WaitGroup
	for i := range 4 * 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := f.do(isolates[i%4], "POST", "/token", testOrigin)
			if w.Code != 200 {
				t.Errorf("status: got %d, want 200 (%s)", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), "refresh") {
				t.Errorf("answer mentions a refresh token: %s", w.Body)
			}
		}()
	}
	wg.Wait()
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests for 100 requests on 4 isolates: got %d, want 1", n)
	}
	if n := f.asks.Load(); n != 4 {
		t.Errorf("asks of the holder: got %d, want 4 (one per isolate)", n)
	}
}

func TestHolderKeepsTheRefreshTokenInside(t *testing.T) {
	f := newHolderFixture(t)
	key := f.key(t)
	w := f.ask(t, key)
	if w.Code != 200 {
		t.Fatalf("status: got %d, want 200 (%s)", w.Code, w.Body)
	}
	m := decode(t, w)
	for _, k := range []string{"refresh_token", "id_token"} {
		if _, ok := m[k]; ok {
			t.Errorf("the holder's answer carries %s", k)
		}
	}
	stored, _ := f.storage.Get(context.Background(), key)
	if !strings.Contains(string(stored), `"refresh_token":"`) {
		t.Fatalf("the object's storage holds no refresh token: %s", stored)
	}
	if strings.Contains(string(stored), "id_token") {
		t.Errorf("the object's storage holds the id token")
	}
	// Evicted and back: the stored token serves, no new grant.
	f.holder = f.newHolder()
	if w := f.ask(t, key); w.Code != 200 || decode(t, w)["access_token"] != m["access_token"] {
		t.Fatalf("after eviction: got %d %s, want the same token", w.Code, w.Body)
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests after an eviction: got %d, want 1", n)
	}
	// Evicted, and the token expired meanwhile: renewed with the stored
	// refresh token, not with the client credentials.
	f.clock.Advance(25 * time.Hour)
	f.holder = f.newHolder()
	if w := f.ask(t, key); w.Code != 200 || decode(t, w)["access_token"] == m["access_token"] {
		t.Fatalf("after expiry: got %d %s, want a new token", w.Code, w.Body)
	}
	reqs := f.demo.Requests()
	if len(reqs) != 2 || reqs[1].Fields["grant_type"] != "refresh_token" {
		t.Fatalf("provider requests: got %d, the last one %v; want 2, the last a refresh_token grant", len(reqs), reqs[len(reqs)-1].Fields["grant_type"])
	}
}

func TestHolderRefusesAnotherKey(t *testing.T) {
	f := newHolderFixture(t)
	wantError(t, f.ask(t, "th2-another"), http.StatusConflict, "key_mismatch")
	if n := f.demo.Count(); n != 0 {
		t.Errorf("provider requests: got %d, want 0", n)
	}
	r := httptest.NewRequest("GET", "/healthz", nil)
	w := httptest.NewRecorder()
	f.holder.ServeHTTP(w, r)
	wantError(t, w, http.StatusNotFound, "not_found")
}

func TestHolderBackoffSharedByAllAskers(t *testing.T) {
	f := newHolderFixture(t)
	f.holder.Retry = tokenhelper.RetryPolicy{Attempts: 1}
	f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 503, Times: 10})
	a, b := f.isolate(nil), f.isolate(nil)
	wantError(t, f.do(a, "POST", "/token", testOrigin), 503, "temporarily_unavailable")
	w := f.do(b, "POST", "/token", testOrigin) // another isolate, inside the object's backoff
	wantError(t, w, 503, "temporarily_unavailable")
	if ra := w.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After of the repeated failure: got %q, want 1", ra)
	}
	if !strings.Contains(w.Body.String(), "repeated") {
		t.Errorf("the second isolate's answer does not say it repeats: %s", w.Body)
	}
	// Each isolate now backs off on its own too: no ask, no request.
	asks := f.asks.Load()
	wantError(t, f.do(a, "POST", "/token", testOrigin), 503, "temporarily_unavailable")
	if n := f.asks.Load(); n != asks {
		t.Errorf("asks during the isolate's backoff: got %d, want %d", n, asks)
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
}

// TestHolderBackoffOutlivesEviction: the object's backoff is in its
// storage, so a fresh object (after an eviction) inside the window repeats
// the failure without a provider request, and asks again once it is over.
func TestHolderBackoffOutlivesEviction(t *testing.T) {
	f := newHolderFixture(t)
	f.holder.Retry = tokenhelper.RetryPolicy{Attempts: 1}
	f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 503, Times: 1})
	key := f.key(t)
	if w := f.ask(t, key); w.Code == 200 {
		t.Fatalf("the first ask, provider failing: got 200")
	}
	f.holder = f.newHolder() // evicted: a new instance, the same storage
	f.holder.Retry = tokenhelper.RetryPolicy{Attempts: 1}
	w := f.ask(t, key)
	if w.Code == 200 || !strings.Contains(w.Body.String(), "repeated") {
		t.Errorf("a fresh object inside the backoff: got %d %s, want the failure repeated", w.Code, w.Body)
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests inside the backoff after an eviction: got %d, want 1", n)
	}
	f.clock.Advance(time.Minute) // the window is over
	if w := f.ask(t, key); w.Code != 200 {
		t.Errorf("after the backoff: got %d %s, want 200", w.Code, w.Body)
	}
	if n := f.demo.Count(); n != 2 {
		t.Errorf("provider requests after the backoff: got %d, want 2", n)
	}
}

func TestHolderAskerCancellationDoesNotCancelTheRequest(t *testing.T) {
	f := newHolderFixture(t)
	f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultSlow, Delay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &worker.HolderCoordinator{Transport: f.stub(), Clock: f.clock}
	renewed := false
	own := func(context.Context) (*tokenhelper.Token, error) { renewed = true; return nil, errors.New("not this") }
	if _, err := c.Renew(ctx, f.key(t), own); err == nil {
		t.Fatal("an ask whose context ended: got a token")
	}
	if renewed {
		t.Error("a canceled ask fell back to the isolate's own renewal")
	}
	tok, err := c.Renew(context.Background(), f.key(t), own)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("the next asker: got %v, %v, want the token", tok, err)
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1 (the canceled asker's, finished for the next)", n)
	}
}

func TestHolderCoordinatorFallsBackWhenTheObjectFails(t *testing.T) {
	f := newHolderFixture(t)
	var logs []string
	h := f.isolate(func(s string) { logs = append(logs, s) })
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Durable Object reset because its code was updated.", 500)
	})
	if w := f.do(h, "POST", "/token", testOrigin); w.Code != 200 {
		t.Fatalf("with the object down: got %d %s, want 200 through the isolate's own path", w.Code, w.Body)
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("provider requests: got %d, want 1", n)
	}
	// The log says so once a minute, however often the object fails.
	c := h.Coordinator
	own := func(context.Context) (*tokenhelper.Token, error) { return &tokenhelper.Token{AccessToken: "own"}, nil }
	for range 3 {
		if tok, err := c.Renew(context.Background(), f.key(t), own); err != nil || tok.AccessToken != "own" {
			t.Fatalf("fallback: got %v, %v, want the isolate's own token", tok, err)
		}
		f.clock.Advance(10 * time.Second)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "renews on its own") {
		t.Errorf("log lines within 30 s: got %q, want one", logs)
	}
	f.clock.Advance(time.Minute)
	c.Renew(context.Background(), f.key(t), own)
	if len(logs) != 2 {
		t.Errorf("log lines after another minute: got %d, want 2", len(logs))
	}
	// A holder that answers something else than its protocol is a failed
	// object too; one that answers the provider's failure is not.
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFailedDependency)
		w.Write([]byte(`{"kind":"rejected","code":"invalid_client","status":401}`))
	})
	_, err := c.Renew(context.Background(), f.key(t), own)
	var e *tokenhelper.Error
	if !errors.As(err, &e) || e.Code != "invalid_client" || !errors.Is(err, tokenhelper.ErrRejected) {
		t.Errorf("the provider's refusal through the holder: got %v, want invalid_client (no fallback)", err)
	}
}

func TestIsolateKeepsItsCopyUntilHalfTheMargin(t *testing.T) {
	f := newHolderFixture(t)
	h := f.isolate(nil)
	f.do(h, "POST", "/token", testOrigin)
	f.clock.Advance(24*time.Hour - 45*time.Second) // inside the object's margin (60 s), not the isolate's (30 s)
	f.do(h, "POST", "/token", testOrigin)
	if n := f.asks.Load(); n != 1 {
		t.Errorf("asks 45 s before expiry: got %d, want 1", n)
	}
	f.clock.Advance(20 * time.Second) // 25 s before expiry: the isolate renews, in the background
	f.do(h, "POST", "/token", testOrigin)
	deadline := time.Now().Add(5 * time.Second)
	for f.demo.Count() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.asks.Load(); n != 2 {
		t.Errorf("asks 25 s before expiry: got %d, want 2", n)
	}
	if n := f.demo.Count(); n != 2 {
		t.Errorf("provider requests: got %d, want 2", n)
	}
}

// With ROUTES, each route's isolates ask the object of their own key, and
// that object serves that route's provider: one provider request per
// route, each with its own profile.
func TestHolderServesEachRoute(t *testing.T) {
	f := newHolderFixture(t)
	f.env = f.env.with(worker.VarRoutes, "ripple,wave",
		"RIPPLE_TOKEN_PROVIDER", "alphaus-ripple", "RIPPLE_TOKEN_URL", f.fixture.srv.URL+demoprovider.Path("alphaus-ripple"),
		"WAVE_TOKEN_PROVIDER", "alphaus-wave", "WAVE_TOKEN_URL", f.fixture.srv.URL+demoprovider.Path("alphaus-wave"))
	// One object per key, as the binding names them.
	objects := map[string]*worker.Holder{}
	stub := tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		key := r.Header[worker.HolderKeyHeader]
		if objects[key] == nil {
			objects[key] = f.newHolder()
		}
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/token", nil)
		req.Header.Set(worker.HolderKeyHeader, key)
		objects[key].ServeHTTP(w, req)
		return &tokenhelper.Response{Status: w.Code, Header: map[string]string{"content-type": w.Header().Get("Content-Type")},
			Body: io.NopCloser(w.Body)}, nil
	})
	rt := &worker.Router{Handler: &worker.Handler{
		Getenv: f.env.get, Transport: nethttp.New(nil), Clock: f.clock, Timeout: 2 * time.Second,
		Coordinator: &worker.HolderCoordinator{Transport: stub, Clock: f.clock, Log: func(s string) { t.Error("fell back:", s) }},
	}}
	for _, route := range []string{"ripple", "wave", "ripple", "wave"} {
		if w := f.do(rt, "POST", "/"+route+"/token", testOrigin); w.Code != 200 {
			t.Fatalf("/%s/token: got %d %s", route, w.Code, w.Body)
		}
	}
	profiles := map[string]int{}
	for _, r := range f.demo.Requests() {
		profiles[r.Profile]++
	}
	if len(objects) != 2 || profiles["alphaus-ripple"] != 1 || profiles["alphaus-wave"] != 1 {
		t.Errorf("got %d objects and provider requests %v, want 2 objects, one request per route", len(objects), profiles)
	}
}

// TestHolderDropsARefusedTokenOncePerFloor: isolates (core Sources asking
// one Holder, as the Worker's do) whose API refuses the object's token
// make the object renew it once, not once per isolate or per 401, and not
// at all while the object's own floor lasts, even for isolates whose own
// floor allows them (fresh ones); once the floor has passed, once more.
func TestHolderDropsARefusedTokenOncePerFloor(t *testing.T) {
	f := newHolderFixture(t)
	cfg, err := worker.Load(f.env.get)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	isolate := func() *tokenhelper.Source {
		src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil), Clock: f.clock}, cfg.Token,
			tokenhelper.WithCoordinator(&worker.HolderCoordinator{Transport: f.stub(), Clock: f.clock, Log: func(s string) { t.Error("fell back:", s) }}),
			tokenhelper.WithCredentialID(fingerprint.Slow(cfg.Token, worker.FingerprintIterations)))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	// refuse has every isolate's API answer 401 five times at once: each
	// 401 invalidates the token used, and the call is retried with the
	// next. It returns the tokens the retries used.
	refuse := func(isos []*tokenhelper.Source) map[string]bool {
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for _, iso := range isos {
			for range 5 {
				wg.Go(func() {
					tok, err := iso.Token(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					iso.Invalidate(ctx, tok)
					next, err := iso.Token(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seen[next.AccessToken] = true
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		return seen
	}
	var isos []*tokenhelper.Source
	for range 4 {
		isos = append(isos, isolate())
	}
	first, err := isos[0].Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := refuse(isos)
	if n := f.demo.Count(); n != 2 || len(after) != 1 || after[first.AccessToken] {
		t.Fatalf("4 isolates x 5 refusals of the object's token: %d provider requests, %d distinct tokens after (the refused one among them: %v), want 2, 1, false",
			n, len(after), after[first.AccessToken])
	}
	var fresh []*tokenhelper.Source
	for range 4 {
		fresh = append(fresh, isolate())
	}
	refuse(fresh)
	if n := f.demo.Count(); n != 2 {
		t.Errorf("4 fresh isolates refusing the renewed token within the object's floor: %d provider requests in all, want still 2", n)
	}
	f.clock.Advance(tokenhelper.InvalidateFloor + time.Second)
	refuse(append(isos, fresh...))
	if n := f.demo.Count(); n != 3 {
		t.Errorf("8 isolates refusing it after the floor: %d provider requests in all, want 3", n)
	}
	t.Logf("provider requests: 1 first, +1 for 4 isolates x 5 refusals, +0 for 4 fresh isolates within the object's floor, +1 after it: %d", f.demo.Count())
}
