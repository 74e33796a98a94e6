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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// payload is n deterministic bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	r.Read(b)
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestWorkerdStreamsAPIBodies: through /api/ in workerd the bodies are
// streamed by the entry module under Go's plan, never held in Go: a
// 20 MiB answer and a 20 MiB upload arrive intact (two downloads and an
// upload at once), a chunked upload and an empty body too, an upstream
// 401 is retried once with a fresh token, a body over MAX_REQUEST_BODY is
// 413, an upstream dying mid-answer is an error at the client, not a
// complete answer, and the Go heap is where it was.
func TestWorkerdStreamsAPIBodies(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, true)
	const size = 20 << 20
	big := payload(size)
	var mu sync.Mutex
	var auths []string
	reject := 0
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		rej := reject > 0
		if rej {
			reject--
		}
		mu.Unlock()
		if rej {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/big":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Header().Set("Set-Cookie", "upstream=1")
			w.Header().Set("ETag", `"kept"`) // an allowlisted header (see apiproxy headers.go)
			w.Write(big)
		case "/v1/upload":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			json.NewEncoder(w).Encode(map[string]any{"n": n, "sha256": hex.EncodeToString(h.Sum(nil)), "chunked": r.ContentLength < 0})
		case "/v1/broken":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(big[:1<<20])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	_, key := testkeys.Ed25519(t)
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     dotenvQuoted(key),
		worker.VarUpstream:       upstream.URL + "/v1",
		"MAX_REQUEST_BODY":       strconv.Itoa(25 << 20),
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Minute}
	_, h, body, err := post(ctx, client, w.URL, testOrigin)
	var minted struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || json.Unmarshal(body, &minted) != nil || minted.AccessToken == "" {
		t.Fatalf("POST /token: %v %s %v", err, body, h)
	}
	call := func(method, path string, body io.Reader, n int64) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, method, w.URL+"/api/"+path, body)
		req.ContentLength = n
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+minted.AccessToken)
		return client.Do(req)
	}
	goSys := func() float64 {
		a := instanceOf(ctx, client, w, 0)
		v, _ := a.body["go_sys"].(float64)
		return v
	}
	before := goSys()

	t.Run("two 20 MiB downloads and a 20 MiB upload at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := call("GET", "big", nil, 0)
				if err != nil {
					errs <- err
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				switch {
				case err != nil:
					errs <- err
				case res.StatusCode != 200 || sum(b) != sum(big):
					errs <- fmt.Errorf("download: %d, %d bytes, sha256 %s", res.StatusCode, len(b), sum(b)[:12])
				case res.Header.Get("ETag") != `"kept"` || res.Header.Get("Set-Cookie") != "" || res.Header.Get("Access-Control-Allow-Origin") != testOrigin:
					errs <- fmt.Errorf("download headers: %v", res.Header)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := call("POST", "upload", bytes.NewReader(big), size)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			var got struct {
				N      int64  `json:"n"`
				SHA256 string `json:"sha256"`
			}
			if json.NewDecoder(res.Body).Decode(&got); res.StatusCode != 200 || got.N != size || got.SHA256 != sum(big) {
				errs <- fmt.Errorf("upload: %d, upstream got %d bytes, sha256 %.12s", res.StatusCode, got.N, got.SHA256)
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("chunked upload and empty body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 3<<20; i += 64 << 10 {
				pw.Write(big[i : i+64<<10])
			}
			pw.Close()
		}()
		res, err := call("POST", "upload", pr, -1)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			N      int64  `json:"n"`
			SHA256 string `json:"sha256"`
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != 200 || got.N != 3<<20 || got.SHA256 != sum(big[:3<<20]) {
			t.Errorf("chunked: %d, upstream got %d bytes", res.StatusCode, got.N)
		}
		res, err = call("POST", "upload", http.NoBody, 0)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != 200 || got.N != 0 {
			t.Errorf("empty: %d, upstream got %d bytes", res.StatusCode, got.N)
		}
	})

	t.Run("an upstream 401 is retried once with a fresh token", func(t *testing.T) {
		mu.Lock()
		reject, auths = 1, nil
		mu.Unlock()
		res, err := call("POST", "upload", strings.NewReader("small body"), 10)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ N int64 }
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if res.StatusCode != 200 || got.N != 10 || len(auths) != 2 || auths[0] == auths[1] {
			t.Errorf("got %d (%d bytes upstream) after %d upstream calls, want 200 after 2 with a renewed token", res.StatusCode, got.N, len(auths))
		}
	})

	t.Run("a browser cannot send the entry module's own headers", func(t *testing.T) {
		before := demo.Count()
		req, _ := http.NewRequestWithContext(ctx, "GET", w.URL+"/api/big", nil)
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+minted.AccessToken)
		req.Header.Set("Tokenhelper-Refused", "1") // would renew the provider token on every call
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || demo.Count() != before {
			t.Errorf("got %d with %d provider requests, want 200 and none", res.StatusCode, demo.Count()-before)
		}
	})

	t.Run("over MAX_REQUEST_BODY: 413", func(t *testing.T) {
		res, err := call("POST", "upload", io.LimitReader(zeros{}, 26<<20), 26<<20)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d, want 413", res.StatusCode)
		}
	})

	t.Run("an upstream dying mid-answer is an error, not a complete answer", func(t *testing.T) {
		res, err := call("GET", "broken", nil, 0)
		if err != nil {
			return // refused before the headers: an error too
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil && len(b) == size {
			t.Errorf("got all %d bytes of an answer the upstream broke off", len(b))
		}
		if err == nil {
			t.Errorf("read %d of %d bytes with no error: a truncated answer passed off as complete", len(b), size)
		}
	})

	if after := goSys(); after-before > 8<<20 {
		t.Errorf("Go memory (Sys) grew from %.1f to %.1f MB over the transfers, want at most 8 MB", before/1e6, after/1e6)
	} else {
		t.Logf("Go memory (Sys): %.1f -> %.1f MB over %d MiB moved", before/1e6, after/1e6, 4*20+3)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
