//go:build unix

package workere2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestBareWorkerdTransferLoad: two 20 MiB downloads and a 20 MiB upload
// through /api/ at once, 20 times over, with both CPUs kept busy by other
// processes and, beside them each time, a download and an upload whose
// clients go away at a random point: the Go instance never restarts, every
// completed transfer is intact (sha256), workerd's RSS levels off after
// the first round (at most 48 MB over the last 10 rounds, which move
// 1 GB: a leak of any share of each transfer would show), and the Go heap
// ends within 8 MB of where it began. The goal, at most 48 MB of
// growth for one round, measured 44-47 MB here: too close to assert on a
// loaded machine, so the test bounds it at 64 MB and logs it.
func TestBareWorkerdTransferLoad(t *testing.T) {
	bundle := harness.WorkerBundle(t, true)
	const size = 20 << 20
	big := payload(size)
	want := sum(big)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/big":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(big)
		case "/v1/upload":
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				return // the client went away
			}
			json.NewEncoder(w).Encode(map[string]any{"n": n, "sha256": hex.EncodeToString(h.Sum(nil))})
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	svc := bareMint(t, "gateway", bundle, provider.URL, api.URL)
	svc.Vars["MAX_REQUEST_BODY"] = strconv.Itoa(25 << 20)
	w := harness.StartBareWorkerd(t, svc)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tok := mintFor(ctx, t, w.URL, testOrigin)
	client := &http.Client{Timeout: time.Minute}
	first := instanceOf(ctx, client, w, 0)
	rssBefore, _ := w.RSS()

	for range 2 { // both CPUs busy, as on a loaded machine
		busy := exec.Command("sh", "-c", "while :; do :; done")
		busy.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := busy.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-busy.Process.Pid, syscall.SIGKILL); busy.Wait() })
	}

	call := func(ctx context.Context, method, path string, body io.Reader, n int64) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, method, w.URL+"/api/"+path, body)
		req.ContentLength = n
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+tok)
		return client.Do(req)
	}
	download := func() error {
		res, err := call(ctx, "GET", "big", nil, 0)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 || sum(b) != want {
			return fmt.Errorf("download: status %d, %d bytes, intact %v, %v", res.StatusCode, len(b), sum(b) == want, err)
		}
		return nil
	}
	upload := func() error {
		res, err := call(ctx, "POST", "upload", bytes.NewReader(big), size)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var got struct {
			N      int64
			SHA256 string
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || got.N != size || got.SHA256 != want {
			return fmt.Errorf("upload: status %d, upstream got %d bytes, intact %v, %v", res.StatusCode, got.N, got.SHA256 == want, err)
		}
		return nil
	}
	// abandon starts a transfer and goes away after a random part of it.
	abandon := func(up bool) {
		actx, drop := context.WithCancel(ctx)
		defer drop()
		cut := rand.Int64N(size)
		if up {
			res, err := call(actx, "POST", "upload", io.MultiReader(io.LimitReader(bytes.NewReader(big), cut), cancelReader(drop)), size)
			if err == nil {
				res.Body.Close()
			}
			return
		}
		if res, err := call(actx, "GET", "big", nil, 0); err == nil {
			io.CopyN(io.Discard, res.Body, cut)
			drop()
			res.Body.Close()
		}
	}

	start := time.Now()
	completed := 0
	var rounds []string // workerd's RSS after each round, MB
	var rss []int64
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for _, f := range []func() error{download, download, upload} {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- f() }()
		}
		for _, up := range []bool{false, true} {
			wg.Add(1)
			go func() { defer wg.Done(); abandon(up) }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: %v", round, err)
			} else {
				completed++
			}
		}
		r, _ := w.RSS()
		rss = append(rss, r)
		rounds = append(rounds, fmt.Sprintf("%.0f", float64(r)/1e6))
	}
	last := instanceOf(ctx, client, w, 0)
	rssAfter, _ := w.RSS()
	if last.body["instance"] != first.body["instance"] {
		t.Errorf("the Go instance restarted under the load (%v, then %v)", first.body["instance"], last.body["instance"])
	}
	if strings.Contains(w.Log(), "panic") {
		t.Errorf("workerd logged a panic:\n%s", w.Log())
	}
	heap0, _ := first.body["go_heap_alloc"].(float64)
	heap1, _ := last.body["go_heap_alloc"].(float64)
	if heap1-heap0 > 8<<20 {
		t.Errorf("Go heap %.1f MB before, %.1f MB after: want within 8 MB", heap0/1e6, heap1/1e6)
	}
	if growth := rss[0] - rssBefore; growth > 64<<20 {
		t.Errorf("workerd RSS grew by %.1f MB in the first round (%.1f -> %.1f MB), want at most 64 MB", float64(growth)/1e6, float64(rssBefore)/1e6, float64(rss[0])/1e6)
	}
	if growth := rss[19] - rss[9]; growth > 48<<20 {
		t.Errorf("workerd RSS grew by %.1f MB over the last 10 rounds, want at most 48 MB (a leak?)", float64(growth)/1e6)
	}
	t.Logf("workerd RSS %.0f MB before, after each round (MB): %s; first round +%.1f MB (goal <= 48 MB)", float64(rssBefore)/1e6, strings.Join(rounds, " "), float64(rss[0]-rssBefore)/1e6)
	t.Logf("20 rounds in %v with both CPUs busy: %d of 60 transfers completed intact, 40 abandoned at random points; one Go instance throughout; Go heap %.1f -> %.1f MB; workerd RSS %.1f -> %.1f MB",
		time.Since(start).Round(100*time.Millisecond), completed, heap0/1e6, heap1/1e6, float64(rssBefore)/1e6, float64(rssAfter)/1e6)
}

// cancelReader calls drop when it is first read, then fails: an upload
// whose client goes away there.
type cancelReader func()

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, context.Canceled
}
