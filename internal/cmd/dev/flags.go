//go:build unix

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// errUsage is a bad command line; the flag package has said why.
var errUsage = errors.New("usage")

// config is the parsed command line.
type config struct {
	host                                    string
	demoPort, apiPort, workerPort, inspPort int
	pagePort                                int
	dist, workerDir, wrangler               string
	worker, watch                           bool
	// origins are allowed by the worker besides the page's (-origins).
	origins []string
}

// parseFlags parses args; the defaults of the host and the ports come
// from the environment variables that ./build.sh dev read before.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{host: "127.0.0.1"}
	if h := getenv("DEV_HOST"); h != "" {
		c.host = h
	}
	ports := []struct {
		p         *int
		flag, env string
		def       int
		usage     string
	}{
		{&c.demoPort, "demo-port", "DEMO_PORT", 8788, "port of the demo provider"},
		{&c.apiPort, "api-port", "DEMO_API_PORT", 8789, "port of the demo API behind the mint routes"},
		{&c.workerPort, "worker-port", "DEV_WORKER_PORT", 8787, "port of the worker"},
		{&c.inspPort, "inspector-port", "DEV_WORKER_INSPECTOR_PORT", 9230, "port of workerd's inspector"},
		{&c.pagePort, "page-port", "DEV_PAGE_PORT", 8080, "port of the page server"},
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.host, "host", c.host, "address every part listens on ($DEV_HOST)")
	for _, p := range ports {
		def := p.def
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%s is not a port number (1-65535)", p.env)
			}
			def = n
		}
		fs.IntVar(p.p, p.flag, def, p.usage+" ($"+p.env+")")
	}
	fs.StringVar(&c.dist, "dist", "dist", "the built files (./build.sh build)")
	fs.BoolVar(&c.worker, "worker", true, "run the worker in workerd (false: the demo provider and the page only)")
	fs.BoolVar(&c.watch, "watch", true, "rebuild the worker (its wrangler.jsonc's build.command) when one of its sources changes")
	fs.StringVar(&c.workerDir, "worker-dir", "worker", "the worker's directory: wrangler.jsonc, .dev.vars, local state")
	fs.StringVar(&c.wrangler, "wrangler", "", "the wrangler command (default WORKER_DIR/node_modules/.bin/wrangler)")
	origins := fs.String("origins", getenv("DEV_ALLOWED_ORIGINS"),
		"origins the worker allows besides the page's, comma-separated, e.g. http://localhost:5173 for a Vite app ($DEV_ALLOWED_ORIGINS)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "dev: unexpected arguments:", strings.Join(fs.Args(), " "))
		return nil, errUsage
	}
	for _, p := range ports {
		if *p.p < 1 || *p.p > 65535 {
			return nil, fmt.Errorf("-%s must be a port number (1-65535)", p.flag)
		}
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("-origins: %v", err)
		}
		c.origins = append(c.origins, o)
	}
	if c.wrangler == "" {
		c.wrangler = filepath.Join(c.workerDir, "node_modules", ".bin", "wrangler")
	}
	return c, nil
}

// checkOrigin accepts an origin as a browser sends it: http or https,
// a host, an optional port, nothing after.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/") {
		return fmt.Errorf("%q is not an origin (scheme://host[:port], e.g. http://localhost:5173)", o)
	}
	return nil
}
