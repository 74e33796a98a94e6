//go:build unix

package workere2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestBareWorkerdSlowUploadIsNotCutOff: the upstream timeout (the
// worker's 8 s) counts from a streamed upload's last chunk, so an upload
// that keeps moving for longer than that arrives whole (12 s here, a
// chunk every 100 ms), while one that stalls for the timeout is answered
// 504 and reaches the upstream as an aborted request, never a complete
// one. Before, an upload counted its whole sending time against the 8 s:
// a 20 MiB upload on a busy machine was cut off (TestWorkerdStreamsAPIBodies).
func TestBareWorkerdSlowUploadIsNotCutOff(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	var complete atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			return // cut off: not an upload the upstream may act on
		}
		complete.Add(1)
		io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	}))
	defer api.Close()
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	w := harness.StartBareWorkerd(t, bareMint(t, "gateway", bundle, provider.URL, api.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tok := mintFor(ctx, t, w.URL, testOrigin)

	// upload POSTs a chunked body: chunks of 8 KiB, one per every, after
	// which it waits stall before the last one.
	upload := func(chunks int, every, stall time.Duration) (int, string, string) {
		pr, pw := io.Pipe()
		h := sha256.New()
		go func() {
			chunk := []byte(strings.Repeat("u", 8<<10))
			for i := range chunks {
				if i == chunks-1 {
					time.Sleep(stall)
				}
				h.Write(chunk)
				if _, err := pw.Write(chunk); err != nil {
					return
				}
				time.Sleep(every)
			}
			pw.Close()
		}()
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+"/api/upload", pr)
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error(), ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), hex.EncodeToString(h.Sum(nil))
	}

	start := time.Now()
	status, body, want := upload(120, 100*time.Millisecond, 0)
	if status != 200 || body != want {
		t.Fatalf("a %v upload that kept moving: %d %q, want 200 and its sha256", time.Since(start).Round(time.Second), status, body)
	}
	t.Logf("a moving upload over %v arrived whole", time.Since(start).Round(100*time.Millisecond))

	start = time.Now()
	status, body, _ = upload(8, 10*time.Millisecond, 12*time.Second)
	took := time.Since(start)
	if status != 504 || !strings.Contains(body, "timeout") {
		t.Errorf("an upload stalled 12 s: %d %q after %v, want 504 timeout", status, body, took.Round(100*time.Millisecond))
	}
	if took > 11*time.Second {
		t.Errorf("the stalled upload was answered after %v: the timeout did not count from its last chunk", took.Round(100*time.Millisecond))
	}
	if n := complete.Load(); n != 1 {
		t.Errorf("the upstream read %d complete uploads, want 1 (the stalled one must reach it aborted)", n)
	}
	t.Logf("a stalled upload answered %d after %v", status, took.Round(100*time.Millisecond))
}
