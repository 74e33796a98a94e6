package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/filecache"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// token prints a token: the access token alone, an Authorization header
// line, or the whole token response as JSON.
func (c *cli) token(ctx context.Context, args []string) int {
	fs := c.flagSet("token")
	o := configFlags(fs)
	header := fs.Bool("header", false, "print an Authorization: Bearer … line instead of the token alone")
	asJSON := fs.Bool("json", false, "print the whole token response as JSON (refresh and id tokens masked)")
	reveal := fs.Bool("reveal", false, "with --json, show the refresh and id tokens too")
	url := fs.String("url", "", "print the headers of one request to this URL: Authorization, and for a DPoP-bound token (DPOP on) a DPoP line with a proof for it; for curl -H @<(tokenhelper token --url URL) URL")
	method := fs.String("method", "GET", "with --url: the request's method")
	nonce := fs.String("dpop-nonce", "", "with --url: the API's DPoP-Nonce, when it asked for one (use_dpop_nonce)")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageError("token", "takes no arguments")
	}
	if *url != "" && tokenhelper.CheckURL(*url) != nil {
		return c.usageError("token", "--url must be an absolute https URL (http only on loopback) without user info or fragment")
	}
	if *method == "" || strings.ContainsFunc(*method, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return c.usageError("token", "--method must be an HTTP method")
	}
	r, err := o.resolve(c.getenv)
	if err != nil {
		return c.fail(err, r.prefix)
	}
	ctx, cancel := context.WithTimeout(ctx, *o.timeout)
	defer cancel()
	tok, err := c.obtain(ctx, r, o)
	if err != nil {
		return c.fail(err, r.prefix)
	}
	switch bound := tok.Type() == "DPoP"; {
	case *asJSON:
		err = writeJSON(c.stdout, shown(tok, *reveal, c.clock()))
	case *url != "" && bound:
		err = c.dpopHeaders(r, tok, *method, *url, *nonce)
	case *url != "":
		_, err = fmt.Fprintln(c.stdout, "Authorization: "+tok.AuthorizationHeader())
	case bound:
		// Printed alone it would be sent as a bearer token and refused:
		// say how to get a usable pair instead.
		return c.usageError("token", "the token is DPoP-bound (RFC 9449): alone it is refused; print a request's two headers with --url URL [--method M], as in curl -H @<(tokenhelper token --url URL) URL")
	case *header:
		_, err = fmt.Fprintln(c.stdout, "Authorization: "+tok.AuthorizationHeader())
	default:
		_, err = fmt.Fprintln(c.stdout, tok.AccessToken)
	}
	if err != nil {
		fmt.Fprintln(c.stderr, "tokenhelper: "+err.Error())
		return exitOther
	}
	return exitOK
}

// discover fills in the token endpoint of a Config that names an issuer
// instead, from the issuer's metadata: from the cache directory when
// fetched within the hour, else from the server (and then stored). Done
// before the Source is made, so that its cache key holds the endpoint.
func discover(ctx context.Context, client *tokenhelper.Client, store *filecache.Cache, cfg tokenhelper.Config) (tokenhelper.Config, error) {
	if cfg.TokenURL != "" || cfg.Issuer == "" {
		return cfg, nil
	}
	var m *tokenhelper.Metadata
	if store != nil {
		m = store.Metadata(cfg.Issuer)
	}
	if m == nil {
		var err error
		if m, err = client.Discover(ctx, cfg.Issuer); err != nil {
			return cfg, err
		}
		if store != nil {
			store.PutMetadata(m) // if it fails, the next invocation fetches it again
		}
	}
	return m.Configure(cfg)
}

// obtain gets the token the settings describe, through the file cache
// unless --no-cache: at once from the cache, or repeating a failure whose
// backoff has not passed, or with one request among the invocations that
// need it at the same moment.
func (c *cli) obtain(ctx context.Context, r *resolved, o *options) (*tokenhelper.Token, error) {
	logf := func(string, ...any) {}
	if *o.verbose {
		var mu sync.Mutex // the transport logs from the Client's goroutine
		logf = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(c.stderr, "tokenhelper: "+format+"\n", args...)
		}
	}
	var sent atomic.Int32
	transport := c.transport
	if transport == nil {
		transport = nethttp.New(&http.Client{})
	}
	// Metadata: the invocation's own, so that in-process tests see the
	// cache directory at work (a process is one invocation anyway).
	client := &tokenhelper.Client{Metadata: new(tokenhelper.MetadataCache), Transport: tokenhelper.TransportFunc(func(ctx context.Context, req *tokenhelper.Request) (*tokenhelper.Response, error) {
		sent.Add(1)
		start := time.Now()
		resp, err := transport.RoundTrip(ctx, req)
		if err == nil {
			logf("%s %s: HTTP %d in %s", req.Method, req.Redact(req.URL), resp.Status, time.Since(start).Round(time.Millisecond))
		} else {
			logf("%s %s: no answer after %s", req.Method, req.Redact(req.URL), time.Since(start).Round(time.Millisecond))
		}
		return resp, err
	})}
	if c.now != nil {
		client.Clock = fixedClock{c.now}
	}
	var opts []tokenhelper.SourceOption
	var store *filecache.Cache
	if !*o.noCache {
		var err error
		var id string
		if store, err = filecache.Open(c.cacheDir); err == nil && r.worker == nil {
			// The credentials in the key: another secret (a wrong one, a
			// rotated one) has other files, and neither finds nor evicts
			// the tokens of this one.
			id, err = store.CredentialID(r.cfg)
		}
		if err != nil {
			store = nil
			fmt.Fprintf(c.stderr, "tokenhelper: no token cache (%v): every invocation asks for a token\n", err)
		} else {
			store.Now, store.Logf = c.now, logf
			opts = append(opts, tokenhelper.WithCache(store), tokenhelper.WithCoordinator(store), tokenhelper.WithCredentialID(id))
		}
	}
	if err := c.bindDPoP(r, store); err != nil {
		return nil, err
	}
	var src *tokenhelper.Source
	var err error
	if r.worker == nil {
		if r.cfg, err = discover(ctx, client, store, r.cfg); err != nil {
			return nil, err
		}
	}
	if r.worker != nil {
		src, err = tokenhelper.NewWorkerSource(client, *r.worker, opts...)
	} else {
		src, err = tokenhelper.NewSource(client, r.cfg, opts...)
	}
	if err != nil {
		return nil, err
	}
	if store != nil {
		logf("cache %s, key %s", store.Dir(), src.Key())
		if rep := store.Repeated(src.Key()); rep != nil {
			return nil, rep // the backoff after the last failure has not passed: nothing is sent
		}
	}
	tok, err := src.Token(ctx)
	if err == nil {
		from := "the cache"
		if n := sent.Load(); n > 0 {
			from = fmt.Sprintf("%d request(s)", n)
		}
		logf("token from %s, valid for %s", from, tok.Remaining(c.clock()).Round(time.Second))
	}
	return tok, err
}

// bindDPoP gives a Config or worker with DPOP on its key: DPOP_KEY's,
// else the cache directory's (made on first use), else, with --no-cache,
// a key of this invocation only (its token is good for this one call).
func (c *cli) bindDPoP(r *resolved, store *filecache.Cache) error {
	if !r.dpop {
		return nil
	}
	var err error
	switch {
	case r.prover != nil:
	case store != nil:
		r.prover, err = store.DPoPProver()
	default:
		r.prover, err = dpop.GenerateProver()
	}
	if err != nil {
		return &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: "DPoP",
			Description: "no DPoP key: " + err.Error()}
	}
	if r.worker != nil {
		r.worker.DPoP = r.prover
	} else {
		r.cfg.DPoP = r.prover
	}
	return nil
}

// dpopHeaders prints the two headers of one request with a DPoP-bound
// token: Authorization: DPoP <token>, and a fresh proof for the method
// and URL (RFC 9449 7.1), with the API's nonce when given.
func (c *cli) dpopHeaders(r *resolved, tok *tokenhelper.Token, method, url, nonce string) error {
	proof, err := r.prover.ProofNonce(method, url, tok.AccessToken, nonce)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Authorization: %s\nDPoP: %s\n", tok.AuthorizationHeader(), proof)
	return err
}

// fixedClock is a Clock reading now, for tests; it sleeps for real.
type fixedClock struct{ now func() time.Time }

func (f fixedClock) Now() time.Time { return f.now() }
func (f fixedClock) Sleep(ctx context.Context, d time.Duration) error {
	return tokenhelper.SystemClock.Sleep(ctx, d)
}

// tokenJSON is the --json output: the token response as the provider
// sent it, the lifetime left and when it ends.
type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"` // seconds left
	ExpiresAt    string `json:"expires_at,omitempty"` // RFC 3339
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// shown is tok for --json, the refresh and id tokens masked unless reveal.
func shown(tok *tokenhelper.Token, reveal bool, now time.Time) tokenJSON {
	j := tokenJSON{AccessToken: tok.AccessToken, TokenType: tok.Type(), Scope: tok.Scope,
		RefreshToken: tok.RefreshToken, IDToken: tok.IDToken}
	if !tok.Expiry.IsZero() {
		j.ExpiresIn = int64(tok.Remaining(now) / time.Second)
		j.ExpiresAt = tok.Expiry.UTC().Format(time.RFC3339)
	}
	if !reveal {
		for _, v := range []*string{&j.RefreshToken, &j.IDToken} {
			if *v != "" {
				*v = tokenhelper.Mask
			}
		}
	}
	return j
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// flagSet is a FlagSet for a subcommand. The flag package would print
// its error and the whole flag list on every mistake: it writes nowhere
// here, and parse says what went wrong in one line (-h prints the list).
func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a subcommand's flags; when it should not go on, it
// returns the exit status: 0 after -h (the command's help on stdout),
// exitConfig after a bad flag (one line on stderr).
func (c *cli) parse(fs *flag.FlagSet, args []string) (int, bool) {
	switch err := fs.Parse(args); {
	case err == flag.ErrHelp:
		fs.SetOutput(c.stdout)
		c.commandHelp(fs)
		return exitOK, false
	case err != nil:
		return c.usageError(fs.Name(), flagProblem(err)), false
	}
	return 0, true
}

// usageError prints the one line of a usage error of command cmd and
// returns its status.
func (c *cli) usageError(cmd, problem string) int {
	fmt.Fprintln(c.stderr, "tokenhelper: "+cmd+": "+problem+" (see tokenhelper help "+cmd+")")
	return exitConfig
}
