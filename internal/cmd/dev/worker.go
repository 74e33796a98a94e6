//go:build unix

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/devvars"
	"github.com/tokenhelper/tokenhelper/worker"
)

// checkWorkerPrereqs says what is missing to run the worker, and whether
// its ports are taken, before anything starts.
func checkWorkerPrereqs(c *config) error {
	if _, err := os.Stat(filepath.Join(c.workerDir, "wrangler.jsonc")); err != nil {
		return fmt.Errorf("worker: %v (or pass -worker=false to run without the worker)", err)
	}
	if _, err := os.Stat(c.wrangler); err != nil {
		return fmt.Errorf("worker: %s is missing: run `npm ci` in %s (./build.sh dev does), or pass -worker=false to run without the worker", c.wrangler, c.workerDir)
	}
	for _, p := range []struct {
		what string
		port int
	}{{"worker", c.workerPort}, {"workerd's inspector", c.inspPort}} {
		ln, err := net.Listen("tcp", net.JoinHostPort(c.host, strconv.Itoa(p.port)))
		if err != nil {
			return fmt.Errorf("worker: the port of the %s is taken: %v", p.what, err)
		}
		ln.Close()
	}
	return nil
}

// startWorker prepares and checks WORKER_DIR/.dev.vars, then runs
// wrangler dev and waits for the worker's health check.
func startWorker(ctx context.Context, c *config, logger *log.Logger, demoURL, apiURL, pageURL string, stderr io.Writer) (*devrun.Process, error) {
	path := filepath.Join(c.workerDir, ".dev.vars")
	localhost := "http://" + net.JoinHostPort("localhost", strconv.Itoa(c.pagePort))
	key, err := signingKey()
	if err != nil {
		return nil, err
	}
	written, err := devvars.Prepare(path, devvars.Demo(demoURL, apiURL, key, pageURL, localhost))
	if err != nil {
		return nil, fmt.Errorf("worker: %v", err)
	}
	if written {
		logger.Printf("worker: wrote %s for the demo provider at %s", path, demoURL)
	} else {
		logger.Printf("worker: using your %s", path)
	}
	vars, err := devvars.Read(path)
	if err != nil {
		return nil, fmt.Errorf("worker: %s: %v", path, err)
	}
	// -origins: added to the file's ALLOWED_ORIGINS (the generated file's
	// or the user's) with --var, which wins over .dev.vars; the file stays
	// as it is.
	var over map[string]string
	if len(c.origins) > 0 {
		all := append(strings.Split(vars["ALLOWED_ORIGINS"], ","), c.origins...)
		all = slices.DeleteFunc(all, func(o string) bool { return strings.TrimSpace(o) == "" })
		slices.Sort(all)
		over = map[string]string{"ALLOWED_ORIGINS": strings.Join(slices.Compact(all), ",")}
		vars["ALLOWED_ORIGINS"] = over["ALLOWED_ORIGINS"]
		logger.Printf("worker: also allowing %s (-origins)", strings.Join(c.origins, ", "))
	}
	if err := checkSettings(path, vars); err != nil {
		return nil, err
	}
	config, err := devConfig(c.workerDir)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w, err := devrun.StartWith(ctx, c.wrangler, c.workerDir, devrun.Options{
		Host: c.host, Port: c.workerPort, InspectorPort: c.inspPort,
		Persist: filepath.Join(".wrangler", "state"), Ready: workerReady,
		Echo: stderr, EchoPrefix: "wrangler | ",
		Config: config, Vars: over,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if err := waitHealthy(ctx, "worker", w.URL+"/healthz", workerHealthy); err != nil {
		w.Stop()
		return nil, err
	}
	logger.Printf("worker: wrangler dev (process group %d) on %s", w.Pgid(), w.URL)
	for _, r := range devvars.Routes {
		logger.Printf("worker: %s/%s/token (POST, Origin %s) -> demo provider %s, mode %s", w.URL, r.Name, pageURL, r.Profile, r.Mode)
	}
	return w, nil
}

// checkVars reads path and checks it with the worker's own parser; the
// error names the variable, never its value.
func checkVars(path string) error {
	vars, err := devvars.Read(path)
	if err != nil {
		return fmt.Errorf("worker: the settings in %s are invalid: %v; fix it, or delete the file to use the demo provider", path, err)
	}
	return checkSettings(path, vars)
}

// checkSettings checks vars (read from path) with the worker's own
// parser; the error names the variable, never its value.
func checkSettings(path string, vars map[string]string) error {
	if err := worker.CheckSettings(func(name string) string { return vars[name] }); err != nil {
		return fmt.Errorf("worker: the settings in %s are invalid: %v; fix it, or delete the file to use the demo provider", path, err)
	}
	return nil
}

// signingKey is a fresh Ed25519 SIGNING_KEY (PKCS #8 PEM) for the mint
// routes, made at every start.
func signingKey() (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
