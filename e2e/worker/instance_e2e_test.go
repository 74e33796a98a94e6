//go:build unix

package workere2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// otherOrigin is a second allowed origin, for the interleaving tests.
const otherOrigin = "https://other.example.com"

// answer is one worker answer, as the concurrency tests compare them.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	err    error
}

func (a answer) String() string {
	if a.err != nil {
		return "error " + a.err.Error()
	}
	return fmt.Sprintf("%d %v", a.status, a.body)
}

// do sends one request to a running worker.
func do(ctx context.Context, c *http.Client, method, url string, hdr ...string) answer {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return answer{err: err}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, err: err}
	if err == nil && len(b) > 0 {
		if e := json.Unmarshal(b, &a.body); e != nil {
			a.err = fmt.Errorf("not JSON: %.200q", b)
		}
	}
	return a
}

// parallel runs n calls of fn, par at a time, and returns their answers in
// the order of i.
func parallel(n, par int, fn func(i int) answer) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = fn(i)
		}()
	}
	wg.Wait()
	return out
}

// instanceOf asks the test hook which Go instance serves, after sleeping
// sleepMS in the handler.
func instanceOf(ctx context.Context, c *http.Client, w *devrun.Process, sleepMS int) answer {
	return do(ctx, c, "GET", fmt.Sprintf("%s/__test/instance?sleep_ms=%d", w.URL, sleepMS))
}

// TestWorkerdLongLivedInstance checks the entry module's one Go instance
// per isolate in real workerd: one provider request for a burst against
// an empty cache (with the provider slow, so that the whole burst waits on
// the one fetch), failures shared by the requests waiting on them and not
// kept, a panic in one request leaving the others alone, a crash of the
// Go program answered 500 and followed by a fresh instance, and no state
// leaking between interleaved requests (origins, caller identities, and
// the subject and audience of minted tokens).
func TestWorkerdLongLivedInstance(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, true)
	entry, _ := os.ReadFile(harness.Path("worker", "entry", "worker.mjs"))
	if built, _ := os.ReadFile(filepath.Join(bundle, "worker.mjs")); !bytes.Equal(entry, built) {
		harness.Require(t, "workerd", bundle+"/worker.mjs equal to worker/entry/worker.mjs (./build.sh test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()

	demo := demoprovider.New(demoprovider.Options{})
	provider := newRestartable(t, demo)
	keys := testkeys.NewIssuer(t, callerIssuer, callerAudience)
	base := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       "http://" + provider.addr + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin + "," + otherOrigin,
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// The gated worker has a provider of its own whose tokens live 2 s
	// (fresh for 1.8 s), so that a test can wait for an empty cache.
	shortDemo := demoprovider.New(demoprovider.Options{Lifetime: 2 * time.Second})
	short := newRestartable(t, shortDemo)
	gatedEnv := callerEnv(keys, base.with(
		worker.VarProvider, "aluma",
		worker.VarTokenURL, "http://"+short.addr+demoprovider.Path("aluma"),
	))
	// The minting worker puts the caller's subject and the origin in the
	// tokens it signs: a leak between requests would show in them.
	mintEnv := gatedEnv.with(
		worker.VarMode, "mint",
		worker.VarSigningKey, "e2e-hs256-signing-secret-0123456789abcdef",
		worker.VarUpstream, "http://127.0.0.1:9/v1", // never reached by /token
	)
	dirs := []string{
		workerDir(t, bundle, base, 100000, false),
		workerDir(t, bundle, gatedEnv, 100000, false),
		workerDir(t, bundle, mintEnv, 100000, false),
	}
	procs := make([]*devrun.Process, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, d := range dirs { // side by side: each start is mostly waiting
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], errs[i] = devrun.Start(wrangler, d, t.TempDir(), 60*time.Second)
		}()
	}
	wg.Wait()
	for i := range procs {
		if procs[i] != nil {
			t.Cleanup(procs[i].Stop)
		}
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	w, g, m := procs[0], procs[1], procs[2]
	t.Logf("three workerd ready in %v", time.Since(start).Round(time.Millisecond))
	token := func(w *devrun.Process, origin string, hdr ...string) answer {
		if origin != "" {
			hdr = append(hdr, "Origin", origin)
		}
		return do(ctx, client, "POST", w.URL+"/token", hdr...)
	}

	t.Run("200 requests at 8 in flight, provider slow, empty cache: one provider request", func(t *testing.T) {
		if err := demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultSlow, Delay: 1500 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		got := parallel(200, 8, func(int) answer { return token(w, testOrigin) })
		tokens := map[any]int{}
		for i, a := range got {
			if a.err != nil || a.status != 200 {
				t.Errorf("request %d: got %v, want 200", i, a)
				continue
			}
			tokens[a.body["access_token"]]++
		}
		if len(tokens) != 1 {
			t.Errorf("distinct tokens: got %d, want 1", len(tokens))
		}
		if n := demo.Count(); n != 1 {
			t.Errorf("provider token requests: got %d, want exactly 1", n)
		}
		t.Logf("200 requests in %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("one Go instance serves every request", func(t *testing.T) {
		a, b := instanceOf(ctx, client, w, 0), instanceOf(ctx, client, w, 0)
		if a.status != 200 || b.status != 200 || a.body["instance"] != b.body["instance"] {
			t.Fatalf("two requests: got %v and %v, want the same instance", a, b)
		}
		if s, _ := b.body["served"].(float64); s < 200 {
			t.Errorf("requests served by the instance: got %v, want more than 200", b.body["served"])
		}
	})

	t.Run("a panic in one request: 500 for it, the others carry on", func(t *testing.T) {
		before := instanceOf(ctx, client, w, 0)
		got := parallel(9, 9, func(i int) answer {
			if i == 4 {
				time.Sleep(100 * time.Millisecond) // the others are in flight
				return do(ctx, client, "GET", w.URL+"/__test/panic")
			}
			return instanceOf(ctx, client, w, 500)
		})
		for i, a := range got {
			switch {
			case i == 4:
				if a.status != 500 || a.body["error"] != "server_error" {
					t.Errorf("panicking request: got %v, want 500 server_error", a)
				}
			case a.status != 200 || a.body["instance"] != before.body["instance"]:
				t.Errorf("request %d beside the panic: got %v, want 200 from instance %v", i, a, before.body["instance"])
			}
		}
		if a := token(w, testOrigin); a.status != 200 {
			t.Errorf("token after the panic: got %v, want 200", a)
		}
	})

	t.Run("origins interleaved: each answer carries its own", func(t *testing.T) {
		origins := []string{testOrigin, otherOrigin, "https://evil.example", ""}
		got := parallel(200, 8, func(i int) answer { return token(w, origins[i%len(origins)]) })
		for i, a := range got {
			o := origins[i%len(origins)]
			acao := ""
			if a.header != nil {
				acao = a.header.Get("Access-Control-Allow-Origin")
			}
			switch o {
			case testOrigin, otherOrigin:
				if a.status != 200 || acao != o {
					t.Errorf("request %d from %s: got %v with Access-Control-Allow-Origin %q, want 200 and the same origin", i, o, a, acao)
				}
			default:
				if a.status != 403 || acao != "" {
					t.Errorf("request %d from %q: got %v with Access-Control-Allow-Origin %q, want 403 and none", i, o, a, acao)
				}
			}
		}
	})

	t.Run("caller identities interleaved: each request judged on its own JWT", func(t *testing.T) {
		t0, now := time.Now(), time.Now()
		defer func() { t.Logf("120 requests in %v", time.Since(t0).Round(time.Millisecond)) }()
		callers := []struct {
			name string
			hdr  []string
			want int
		}{
			{"alice", []string{"Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["sub"] = "alice" })}, 200},
			{"wrong audience", []string{"Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["aud"] = "x" })}, 401},
			{"bob", []string{"Authorization", "Bearer " + keys.Sign(now, func(c jwt.MapClaims) { c["sub"] = "bob" })}, 200},
			{"none", nil, 401},
		}
		got := parallel(120, 8, func(i int) answer {
			c := callers[i%len(callers)]
			return token(g, testOrigin, c.hdr...)
		})
		for i, a := range got {
			c := callers[i%len(callers)]
			if a.status != c.want {
				t.Errorf("request %d as %s: got %v, want %d", i, c.name, a, c.want)
			}
		}
	})

	t.Run("minted tokens interleaved: each carries its own caller and origin", func(t *testing.T) {
		now := time.Now()
		type caller struct{ sub, origin string }
		callers := []caller{{"alice", testOrigin}, {"bob", otherOrigin}, {"carol", otherOrigin}, {"dave", testOrigin}}
		jwts := map[string]string{}
		for _, c := range callers {
			jwts[c.sub] = keys.Sign(now, func(cl jwt.MapClaims) { cl["sub"] = c.sub })
		}
		got := parallel(120, 8, func(i int) answer {
			c := callers[i%len(callers)]
			return token(m, c.origin, "Authorization", "Bearer "+jwts[c.sub])
		})
		for i, a := range got {
			c := callers[i%len(callers)]
			if a.status != 200 {
				t.Errorf("request %d as %s from %s: got %v, want 200", i, c.sub, c.origin, a)
				continue
			}
			raw, _ := a.body["access_token"].(string)
			var claims jwt.MapClaims
			if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil {
				t.Errorf("request %d: minted token unreadable: %v", i, err)
				continue
			}
			aud, _ := claims.GetAudience()
			if claims["sub"] != c.sub || len(aud) != 1 || aud[0] != c.origin ||
				a.header.Get("Access-Control-Allow-Origin") != c.origin {
				t.Errorf("request %d as %s from %s: got sub %v, aud %v, Access-Control-Allow-Origin %q",
					i, c.sub, c.origin, claims["sub"], aud, a.header.Get("Access-Control-Allow-Origin"))
			}
		}
	})

	alice := []string{"Authorization", "Bearer " + keys.Sign(time.Now(), func(c jwt.MapClaims) { c["sub"] = "alice" })}
	expire := func() { time.Sleep(2100 * time.Millisecond) } // the gated worker's token is stale

	t.Run("a failed provider fetch fails the requests waiting on it, and the next succeeds", func(t *testing.T) {
		expire()
		// Three 503s are the core's three attempts, with backoff (Go
		// timers) between them: the burst waits on that one flight.
		if err := shortDemo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 503, Times: 3}); err != nil {
			t.Fatal(err)
		}
		before := shortDemo.Count()
		got := parallel(8, 8, func(int) answer { return token(g, testOrigin, alice...) })
		for i, a := range got {
			if a.status != 503 {
				t.Errorf("request %d while the provider fails: got %v, want 503", i, a)
			}
		}
		if n := shortDemo.Count() - before; n != 3 {
			t.Errorf("provider requests for 8 requests on one failing flight: got %d, want 3 (one flight, three attempts)", n)
		}
		// The next request inside the backoff repeats the failure without
		// a request; once it is over, the provider is asked again.
		a := token(g, testOrigin, alice...)
		wait, _ := strconv.Atoi(a.header.Get("Retry-After"))
		if a.status != 503 || wait < 1 || shortDemo.Count()-before != 3 {
			t.Errorf("the next request, inside the backoff: got %v; want 503 with Retry-After and no provider request", a)
		}
		time.Sleep(time.Duration(wait) * time.Second)
		if a := token(g, testOrigin, alice...); a.status != 200 {
			t.Errorf("the next request after the backoff: got %v, want 200", a)
		}
	})

	t.Run("the client that started the provider fetch goes away: the others still get the token", func(t *testing.T) {
		expire()
		if err := shortDemo.Fail(demoprovider.Fault{Kind: demoprovider.FaultSlow, Delay: 1500 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		before := shortDemo.Count()
		got := parallel(5, 5, func(i int) answer {
			if i == 0 {
				c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				return do(c, client, "POST", g.URL+"/token", append([]string{"Origin", testOrigin}, alice...)...)
			}
			time.Sleep(100 * time.Millisecond) // after the first one started the fetch
			return token(g, testOrigin, alice...)
		})
		if got[0].err == nil {
			t.Errorf("the client that went away: got %v, want its own timeout", got[0])
		}
		for i, a := range got[1:] {
			if a.status != 200 {
				t.Errorf("request %d waiting on the abandoned fetch: got %v, want 200", i+1, a)
			}
		}
		if n := shortDemo.Count() - before; n != 1 {
			t.Errorf("provider requests: got %d, want 1", n)
		}
	})

	t.Run("a crash of the Go program: 500 for the requests on it, a fresh instance next", func(t *testing.T) {
		before := instanceOf(ctx, client, w, 0)
		got := parallel(5, 5, func(i int) answer {
			if i == 2 {
				time.Sleep(100 * time.Millisecond)
				return do(ctx, client, "GET", w.URL+"/__test/crash")
			}
			return instanceOf(ctx, client, w, 1000)
		})
		for i, a := range got {
			if a.status != 500 || a.body["error"] != "server_error" {
				t.Errorf("request %d on the crashed instance: got %v, want 500 server_error", i, a)
			}
		}
		provBefore := demo.Count()
		after := instanceOf(ctx, client, w, 0)
		if after.status != 200 || after.body["instance"] == before.body["instance"] {
			t.Errorf("after the crash: got %v, want 200 from a new instance (old %v)", after, before.body["instance"])
		}
		if a := token(w, testOrigin); a.status != 200 {
			t.Errorf("token after the crash: got %v, want 200", a)
		}
		if n := demo.Count() - provBefore; n != 0 {
			t.Errorf("provider requests after the crash: got %d, want 0 (the Cache API still holds the token)", n)
		}
	})

	t.Run("no secret in the workerd log", func(t *testing.T) {
		for _, p := range []*devrun.Process{w, g, m} {
			if strings.Contains(p.Log(), secret) {
				t.Errorf("wrangler output holds the client secret")
			}
		}
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
