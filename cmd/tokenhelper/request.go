package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/filecache"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// request prints the token request the settings describe, exactly as it
// would be sent but with every secret masked (as the page shows it), or
// with --curl as a curl command. Nothing is sent, but for an issuer
// without a token URL the GET of its public metadata (when not in the
// cache directory).
func (c *cli) request(args []string) int {
	fs := c.flagSet("request")
	o := configFlags(fs)
	curl := fs.Bool("curl", false, "print a curl command instead (secrets masked)")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageError("request", "takes no arguments")
	}
	r, err := o.resolve(c.getenv)
	if err != nil {
		return c.fail(err, r.prefix)
	}
	var req *tokenhelper.Request
	if r.worker != nil {
		req, err = r.worker.Request()
	} else {
		if r.cfg, err = c.discoverOnly(r.cfg, *o.noCache); err != nil {
			return c.fail(err, r.prefix)
		}
		req, err = tokenhelper.BuildRequest(r.cfg)
	}
	if err != nil {
		return c.fail(err, r.prefix)
	}
	if r.dpop {
		// Each one sent carries a fresh proof by the key (one use, a
		// minute or two): shown masked, as the proof itself is.
		req.Header["Dpop"] = tokenhelper.Mask
	}
	if *curl {
		fmt.Fprintln(c.stdout, req.Curl())
		return exitOK
	}
	fmt.Fprintln(c.stdout, showRequest(req))
	return exitOK
}

// discoverOnly is discover for request, which sends nothing else: the
// metadata from the cache directory, or fetched (but not stored).
func (c *cli) discoverOnly(cfg tokenhelper.Config, noCache bool) (tokenhelper.Config, error) {
	if cfg.TokenURL != "" || cfg.Issuer == "" {
		return cfg, nil
	}
	transport := c.transport
	if transport == nil {
		transport = nethttp.New(&http.Client{})
	}
	var store *filecache.Cache
	if !noCache {
		store, _ = filecache.Open(c.cacheDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return discover(ctx, &tokenhelper.Client{Metadata: new(tokenhelper.MetadataCache), Transport: transport}, store, cfg)
}

// showRequest renders req as HTTP text with its secrets masked: the
// headers and body through req.Redact, as the page's redacted view does
// (text with a secret too short to mask is withheld whole).
func showRequest(req *tokenhelper.Request) string {
	var b strings.Builder
	b.WriteString(req.Method + " " + req.URL + "\n")
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		b.WriteString(k + ": " + req.Redact(req.Header[k]) + "\n")
	}
	if len(req.Body) > 0 {
		b.WriteString("\n" + strings.TrimRight(req.Redact(string(req.Body)), "\r\n"))
	}
	return strings.TrimRight(b.String(), "\n")
}
