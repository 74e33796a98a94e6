//go:build unix

package workere2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// workerConfig is the wrangler.jsonc of a test worker: a rate limit of
// rateLimit token requests a minute, and with kv tokens shared through a
// KV namespace bound as TOKEN_KV instead of the Cache API.
func workerConfig(rateLimit int, kv bool) string {
	kvBinding := ""
	if kv {
		kvBinding = `"kv_namespaces": [{ "binding": "TOKEN_KV", "id": "00000000000000000000000000000000" }],`
	}
	return fmt.Sprintf(`{
  "name": "tokenhelper-e2e",
  "main": "./worker.mjs",
  "compatibility_date": "2026-04-01",
  "ratelimits": [{ "name": "RATE_LIMITER", "namespace_id": "1001", "simple": { "limit": %d, "period": 60 } }],
  %s
  "observability": { "enabled": false }
}
`, rateLimit, kvBinding)
}

// workerDir prepares a private copy of bundle (see harness.WorkerDir).
func workerDir(t *testing.T, bundle string, vars env, rateLimit int, kv bool) string {
	t.Helper()
	return harness.WorkerDir(t, bundle, workerConfig(rateLimit, kv), vars)
}

// restartable serves a handler on one fixed loopback address that can be
// taken down (connections refused) and brought back.
type restartable struct {
	addr string
	h    http.Handler
	srv  *http.Server
}

func newRestartable(t *testing.T, h http.Handler) *restartable {
	t.Helper()
	r := &restartable{addr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)), h: h}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start(t *testing.T) {
	t.Helper()
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.srv = &http.Server{Handler: r.h}
	go r.srv.Serve(l)
}

func (r *restartable) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// post sends POST /token to a running worker and reads the answer.
func post(ctx context.Context, c *http.Client, url, origin string, hdr ...string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/token", nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}
