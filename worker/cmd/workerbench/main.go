//go:build unix

// Command workerbench measures the cached path of POST /token in local
// workerd (wrangler dev): the Go worker bundle against the plain
// JavaScript worker in worker/bench/baseline.mjs doing the same job (check
// the origin, return the token cached in the Cache API), each with 1 and 8
// keep-alive HTTP/1.1 clients (internal/loadgen), printed side by side.
// Both fetch their first token from the demo provider running in this
// process; the measured requests must all be 200s from the cache.
//
//	workerbench [-n 300] [-clients 1,8] [-bundle worker/build]
//	            [-baseline worker/bench/baseline.mjs]
//	            [-wrangler worker/node_modules/.bin/wrangler]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/loadgen"
	"github.com/tokenhelper/tokenhelper/worker/internal/devrun"
)

const origin = "http://127.0.0.1:8080"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "workerbench:", err)
		os.Exit(1)
	}
}

func run() error {
	requests := flag.Int("n", 300, "requests per row")
	clientList := flag.String("clients", "1,8", "comma list of concurrent clients")
	bundle := flag.String("bundle", "worker/build", "the Go worker bundle")
	baseline := flag.String("baseline", "worker/bench/baseline.mjs", "the JavaScript baseline worker")
	wrangler := flag.String("wrangler", "worker/node_modules/.bin/wrangler", "the wrangler binary")
	flag.Parse()
	var clients []int
	for _, s := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return errors.New("-clients: want a comma list of positive numbers")
		}
		clients = append(clients, n)
	}
	wr, err := filepath.Abs(*wrangler)
	if err != nil {
		return err
	}

	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	vars := map[string]string{
		"TOKEN_PROVIDER":  "alphaus-ripple",
		"TOKEN_URL":       provider.URL + demoprovider.Path("alphaus-ripple"),
		"CLIENT_ID":       demoprovider.DefaultClientID,
		"CLIENT_SECRET":   demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS": origin,
	}
	tmp, err := os.MkdirTemp("", "workerbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	type target struct {
		name string
		p    *devrun.Process
	}
	var targets []target
	defer func() {
		for _, t := range targets {
			t.p.Stop()
		}
	}()
	for _, w := range []struct{ name, src, main string }{
		{"Go (syumai/workers)", *bundle, "worker.mjs"},
		{"JavaScript", filepath.Dir(*baseline), filepath.Base(*baseline)},
	} {
		dir := filepath.Join(tmp, strconv.Itoa(len(targets)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		files := devrun.BundleFiles
		if w.main != "worker.mjs" {
			files = []string{w.main}
		}
		cfg := `{"name":"bench","main":"./` + w.main + `","compatibility_date":"2026-04-01","observability":{"enabled":false}}`
		if err := devrun.Dir(dir, w.src, files, cfg, vars); err != nil {
			return err
		}
		p, err := devrun.Start(wr, dir, filepath.Join(dir, "state"), 60*time.Second)
		if err != nil {
			return err
		}
		targets = append(targets, target{w.name, p})
		before := demo.Count()
		for i := range 20 { // warm up: the first request caches the token
			if _, err := request(http.DefaultClient, p.URL); err != nil {
				return fmt.Errorf("%s: warm-up request %d: %w", w.name, i+1, err)
			}
		}
		fmt.Printf("%s: ready, %d provider token request(s) for 20 warm-up requests\n", w.name, demo.Count()-before)
	}

	fmt.Printf("\ncached POST /token in wrangler dev (workerd), keep-alive HTTP/1.1, %d requests per row\n", *requests)
	fmt.Printf("%-8s %-22s %10s %10s %10s %8s\n", "clients", "worker", "median", "p99", "req/s", "non-200")
	before := demo.Count()
	for _, c := range clients {
		for _, t := range targets {
			newReq := func() (*http.Request, error) {
				r, err := http.NewRequest(http.MethodPost, t.p.URL+"/token", nil)
				if err == nil {
					r.Header.Set("Origin", origin)
				}
				return r, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			r := loadgen.Run(ctx, c, *requests, newReq)
			cancel()
			bad := r.Requests - r.Statuses[200]
			fmt.Printf("%-8d %-22s %10s %10s %10.0f %8d\n", c, t.name, ms(time.Duration(r.Median)), ms(time.Duration(r.P99)), r.PerSec, bad)
		}
	}
	fmt.Printf("provider token requests during the measurement: %d\n", demo.Count()-before)
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// request sends one POST /token and checks for a 200 with a token.
func request(c *http.Client, url string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, url+"/token", nil)
	req.Header.Set("Origin", origin)
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if res.StatusCode != 200 || !strings.Contains(string(b), `"access_token"`) {
		return d, fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return d, nil
}
