//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/verify"
)

// Bounds of the waits for each part to answer its health check.
const (
	serverHealthy = 5 * time.Second
	workerReady   = 120 * time.Second // wrangler may build the bundle first
	workerHealthy = 10 * time.Second
)

// run starts every part, prints the banner and serves until ctx ends or
// a part fails; whatever it started is stopped before it returns.
func run(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	logger := log.New(stderr, "dev: ", 0)
	if _, err := os.Stat(filepath.Join(c.dist, "web", "index.html")); err != nil {
		return fmt.Errorf("page: %s is missing: run ./build.sh build first", filepath.Join(c.dist, "web", "index.html"))
	}
	if c.worker {
		if err := checkWorkerPrereqs(c); err != nil {
			return err
		}
	}
	addr := func(port int) string { return net.JoinHostPort(c.host, strconv.Itoa(port)) }
	failed := make(chan error, 2)

	demo := demoprovider.New(demoprovider.Options{
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoprovider.DefaultClientSecret,
		Username: demoprovider.DefaultUsername, Password: demoprovider.DefaultPassword,
		Lifetime: demoprovider.DefaultLifetime,
		OnRequest: func(r demoprovider.Received) {
			line := fmt.Sprintf("demo provider: %s status=%d", r.Profile, r.Status)
			if r.Error != "" {
				line += " error=" + r.Error
			}
			logger.Print(line)
		},
	})
	demoURL, stopDemo, err := serve("demo provider", addr(c.demoPort), demo, failed)
	if err != nil {
		return err
	}
	defer stopDemo()
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		return err
	}
	apiURL, stopAPI, err := serve("demo API", addr(c.apiPort), &demoapi.API{Keys: keys}, failed)
	if err != nil {
		return err
	}
	defer stopAPI()
	pageURL, stopPage, err := serve("page", addr(c.pagePort), devserver.Handler(c.dist), failed)
	if err != nil {
		return err
	}
	defer stopPage()
	if err := waitHealthy(ctx, "demo provider", demoURL+demoprovider.HealthPath, serverHealthy); err != nil {
		return err
	}
	logger.Printf("demo provider on %s", demoURL)

	var w *devrun.Process
	if c.worker {
		if w, err = startWorker(ctx, c, logger, demoURL, apiURL, pageURL, stderr); err != nil {
			return err
		}
		defer w.Stop()
	}
	if err := waitHealthy(ctx, "page", pageURL+"/web/", serverHealthy); err != nil {
		return err
	}
	workerURL, workerDone := "", (<-chan struct{})(nil)
	if w != nil {
		workerURL, workerDone = w.URL, w.Done()
	}
	printBanner(stdout, pageURL, demoURL, apiURL, workerURL, c.origins)
	logger.Print("running; press Ctrl-C to stop")
	if command := buildCommand(c.workerDir); w != nil && c.watch && command != "" {
		wctx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			watchSources(wctx, logger, c.workerDir, command, stderr)
		}()
		defer func() { stopWatch(); <-watched }()
	}

	select {
	case <-ctx.Done():
		logger.Print("stopping")
		return nil
	case err := <-failed:
		return err
	case <-workerDone:
		return fmt.Errorf("worker: wrangler dev exited unexpectedly (%v); stopped the rest", exitStatus(w.Err()))
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// serve listens on addr and serves h there until stop is called; a
// failure of Serve lands on failed. The error of a failed listen names
// the part.
func serve(part, addr string, h http.Handler, failed chan<- error) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", part, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("%s: %w", part, err)
		}
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// waitHealthy polls GET url until it answers 200, for at most within.
func waitHealthy(ctx context.Context, part, url string, within time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(wctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wctx.Done():
			return fmt.Errorf("%s did not answer GET %s within %v (last: %v)", part, url, within, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
