//go:build unix

// Command soak runs the full fault soak of package e2e/soak (the tests run
// a short one): a demo provider that is healthy for -healthy, then refuses
// connections, answers 503, answers 429 with Retry-After and answers
// slowly, each for -fault with healthy stretches between, while -clients
// clients ask for tokens of -lifetime through (a) the core's Source and
// (b) the worker in workerd (wrangler dev), at once, each against a
// provider of its own. It prints, per target, the calls served, failures
// while a valid token existed (the goal: 0), failures without one,
// provider requests per phase and the time to recover after each fault,
// and writes them as JSON (-json).
//
// Run it from the repository root (./build.sh bench does):
//
//	soak [-healthy 15s] [-fault 30s] [-lifetime 60s] [-clients 8] [-bundle dist/worker] [-json dist/bench/soak.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/e2e/soak"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

const origin = "https://app.example.com"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	healthy := flag.Duration("healthy", 15*time.Second, "length of each healthy stretch")
	fault := flag.Duration("fault", 30*time.Second, "length of each fault")
	lifetime := flag.Duration("lifetime", 60*time.Second, "lifetime of the provider's tokens")
	clients := flag.Int("clients", 8, "concurrent clients per target")
	retryAfter := flag.Duration("retry-after", 10*time.Second, "Retry-After of the 429 phase")
	slowBy := flag.Duration("slow", 5*time.Second, "delay of the slow phase's answers")
	bundle := flag.String("bundle", "dist/worker", "the worker bundle")
	wrangler := flag.String("wrangler", "worker/node_modules/.bin/wrangler", "the wrangler binary")
	jsonOut := flag.String("json", "dist/bench/soak.json", "where to write the JSON report (empty: nowhere)")
	flag.Parse()
	wr, err := filepath.Abs(*wrangler)
	if err != nil {
		return err
	}
	newProvider := func() (*soak.Provider, error) {
		p, err := soak.NewProvider(demoprovider.New(demoprovider.Options{Lifetime: *lifetime}))
		if err == nil {
			p.RetryAfter, p.SlowBy = *retryAfter, *slowBy
		}
		return p, err
	}
	core, err := newProvider()
	if err != nil {
		return err
	}
	defer core.Close()
	edge, err := newProvider()
	if err != nil {
		return err
	}
	defer edge.Close()
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		Provider: "alphaus-ripple", TokenURL: core.URL + demoprovider.Path("alphaus-ripple"),
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoprovider.DefaultClientSecret})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := devrun.Launch(wr, dir, *bundle, "soak", devrun.BundleFiles, map[string]string{
		"TOKEN_PROVIDER": "alphaus-ripple", "TOKEN_URL": edge.URL + demoprovider.Path("alphaus-ripple"),
		"CLIENT_ID": demoprovider.DefaultClientID, "CLIENT_SECRET": demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS": origin,
	})
	if err != nil {
		return err
	}
	defer w.Stop()

	cfg := soak.Config{Schedule: soak.Schedule(*healthy, *fault), Clients: *clients, Pause: 10 * time.Millisecond, CallTimeout: 30 * time.Second}
	var total time.Duration
	for _, p := range cfg.Schedule {
		total += p.For
	}
	fmt.Printf("fault soak: %v, tokens of %v, %d clients per target; faults of %v (429 with Retry-After %v, slow by %v)\n",
		total, *lifetime, *clients, *fault, *retryAfter, *slowBy)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * *clients}}
	ctx := context.Background()
	results := make([]*soak.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		results[0], errs[0] = soak.Run(ctx, core, cfg, "core Source", soak.SourceCall(src))
	}()
	go func() {
		defer wg.Done()
		results[1], errs[1] = soak.Run(ctx, edge, cfg, "worker in workerd", soak.WorkerCall(client, w.URL+"/token", origin))
	}()
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil {
			return errs[i]
		}
		soak.Print(os.Stdout, res)
		verdict := "met"
		if res.FailedValid != 0 {
			verdict = "NOT met"
		}
		fmt.Printf("  goal: 0 failed calls while a valid token existed: %s\n", verdict)
		for k := range res.Errors {
			if i == 1 && strings.Contains(k, "HTTP 500") {
				var lines []string
				for _, l := range strings.Split(w.Log(), "\n") {
					if !strings.Contains(l, "[wrangler:info]") && len(lines) < 60 {
						lines = append(lines, l)
					}
				}
				fmt.Printf("  the worker itself failed (%s); wrangler's log, but for its request lines:\n%s\n", k, strings.Join(lines, "\n"))
				break
			}
		}
	}
	if err := report.WriteJSON(*jsonOut, results); err != nil {
		return err
	}
	if *jsonOut != "" {
		fmt.Println("wrote", *jsonOut)
	}
	return nil
}
