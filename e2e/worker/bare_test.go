//go:build unix

package workere2e_test

// Tests in bare workerd (the binary of wrangler's npm package, our own
// config, no wrangler dev proxy in front): what wrangler dev cannot show,
// such as a client's disconnect reaching the worker.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// bareMint is a bare workerd service running bundle in mode mint against
// the provider at providerURL and the API at apiURL.
func bareMint(t *testing.T, name, bundle, providerURL, apiURL string) devrun.Service {
	_, key := testkeys.Ed25519(t)
	return devrun.Service{Name: name, Src: bundle, Files: devrun.BundleFiles, Vars: env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       providerURL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     strings.TrimSpace(key),
		worker.VarUpstream:       apiURL + "/v1",
	}}
}

// TestBareWorkerdDisconnectClosesUpstream: a browser that goes away in
// the middle of a long /api/ answer makes the upstream see its
// connection closed (the entry module's fetch follows the request's
// signal), within seconds, instead of streaming on into nowhere.
func TestBareWorkerdDisconnectClosesUpstream(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	closed := make(chan time.Duration, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An endless answer, 64 KiB every 5 ms, until the write fails or
		// the connection's context ends.
		start := time.Now()
		chunk := make([]byte, 64<<10)
		for time.Since(start) < time.Minute {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Millisecond):
				continue
			}
			break
		}
		closed <- time.Since(start)
	}))
	defer api.Close()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	w := harness.StartBareWorkerd(t, bareMint(t, "gateway", bundle, provider.URL, api.URL))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok := mintFor(ctx, t, w.URL, testOrigin)
	rctx, drop := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(rctx, "GET", w.URL+"/api/endless", nil)
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		t.Fatalf("GET /api/endless: %d %s", res.StatusCode, b)
	}
	if n, err := io.CopyN(io.Discard, res.Body, 1<<20); err != nil {
		t.Fatalf("read %d bytes of the answer: %v", n, err)
	}
	dropped := time.Now()
	drop() // the client goes away: its connection closes
	res.Body.Close()
	select {
	case d := <-closed:
		t.Logf("the upstream saw its connection closed %v after the client left (streamed for %v)", time.Since(dropped).Round(time.Millisecond), d.Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatalf("the upstream still streams 15 s after the client disconnected\nworkerd log:\n%s", w.Log())
	}
}

// TestBareWorkerdSlowAnswerIsNotCutOff: an answer whose headers come at
// once and whose body takes longer than the upstream timeout (the
// worker's 8 s) arrives whole: the timeout bounds the wait for the
// answer, not the download.
func TestBareWorkerdSlowAnswerIsNotCutOff(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	const chunks, size = 100, 10 << 10 // 100 chunks of 10 KiB, one per 100 ms: 10 s
	body := payload(chunks * size)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(200)
		for i := range chunks {
			if _, err := w.Write(body[i*size : (i+1)*size]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	defer api.Close()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	w := harness.StartBareWorkerd(t, bareMint(t, "gateway", bundle, provider.URL, api.URL))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok := mintFor(ctx, t, w.URL, testOrigin)
	start := time.Now()
	status, got := callAPIBytes(ctx, t, w.URL+"/api/slow", tok)
	if status != 200 || sum(got) != sum(body) {
		t.Fatalf("a %v download: status %d, %d of %d bytes (sha256 match %v)", time.Since(start).Round(time.Second), status, len(got), len(body), sum(got) == sum(body))
	}
	t.Logf("%d bytes over %v, intact", len(got), time.Since(start).Round(100*time.Millisecond))
}

// callAPIBytes GETs u with the minted token tok and reads the whole answer
// (an error mid-body is a test failure).
func callAPIBytes(ctx context.Context, t *testing.T, u, tok string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: status %d, the body broke after %d bytes: %v", u, res.StatusCode, len(b), err)
	}
	return res.StatusCode, b
}
