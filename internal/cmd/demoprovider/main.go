// Command demoprovider runs the loopback demo OAuth2 token server of package
// internal/demoprovider, for `./build.sh dev` and for tests that need a
// separate process.
//
//	demoprovider [-addr 127.0.0.1:8788] [-lifetime 24h] [-client-id ID]
//	             [-client-secret SECRET] [-username U] [-password P]
//	             [-audience URL]... [-quiet]
//
// The client secret defaults to $DEMO_CLIENT_SECRET, else the public demo
// secret; the password to $DEMO_PASSWORD, else the public demo password.
// Prefer the environment variables: a flag value is visible in the process
// list.
//
// On start it prints, on standard output, one line per profile with its
// token URL, the client id, the secret and password only when they are the
// public demo defaults, and finally `listening on http://HOST:PORT` once the
// listener is bound (with -addr 127.0.0.1:0 the port is the real one). It
// then logs one line per token request on standard error (profile,
// grant_type, status; never a field value) unless -quiet is set, and shuts
// down cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demoprovider:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// shutdownGrace bounds how long in-flight requests may finish on shutdown.
const shutdownGrace = 5 * time.Second

// config is the parsed command line.
type config struct {
	addr      string
	opts      demoprovider.Options
	quiet     bool
	audiences []string
}

// parseFlags parses args. Secrets are resolved after parsing so that -help
// never prints a value taken from the environment.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("demoprovider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8788", "listen address (port 0 picks a free port)")
	fs.DurationVar(&c.opts.Lifetime, "lifetime", demoprovider.DefaultLifetime, "lifetime of the issued tokens (expires_in)")
	fs.StringVar(&c.opts.ClientID, "client-id", demoprovider.DefaultClientID, "the client id the server accepts")
	secret := fs.String("client-secret", "", "the client secret (default $DEMO_CLIENT_SECRET, else the public demo secret)")
	fs.StringVar(&c.opts.Username, "username", demoprovider.DefaultUsername, "the username of the password grant")
	password := fs.String("password", "", "the password of the password grant (default $DEMO_PASSWORD, else the public demo password)")
	fs.Func("audience", "an extra audience the alluvial profiles accept (repeatable)", func(v string) error {
		if v == "" {
			return errors.New("empty audience")
		}
		c.audiences = append(c.audiences, v)
		return nil
	})
	fs.BoolVar(&c.quiet, "quiet", false, "do not log token requests")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "demoprovider: unexpected arguments:", strings.Join(fs.Args(), " "))
		return nil, errUsage
	}
	if c.opts.Lifetime < time.Second {
		return nil, errors.New("-lifetime must be at least 1s")
	}
	if c.opts.ClientID == "" || c.opts.Username == "" {
		return nil, errors.New("-client-id and -username must not be empty")
	}
	c.opts.ClientSecret = firstNonEmpty(*secret, getenv("DEMO_CLIENT_SECRET"), demoprovider.DefaultClientSecret)
	c.opts.Password = firstNonEmpty(*password, getenv("DEMO_PASSWORD"), demoprovider.DefaultPassword)
	c.opts.Audiences = c.audiences
	return c, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := log.New(stderr, "demoprovider: ", log.LstdFlags)
	if !c.quiet {
		c.opts.OnRequest = func(r demoprovider.Received) { logger.Print(requestLine(r)) }
	}
	srv := demoprovider.New(c.opts)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if !isLoopback(ln.Addr()) {
		logger.Printf("WARNING: %s is not a loopback address; this server hands out tokens for public demo credentials", ln.Addr())
	}
	printBanner(stdout, base, c.opts)

	// Cancelling the base context on shutdown ends slow-fault waits.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler: srv,
		// No ReadTimeout: its deadline also cancels the request context
		// mid-handler, which would cut long slow faults short. Bodies are
		// capped at 64 KiB by the handler.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          logger,
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintln(stdout, "listening on "+base)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	if !c.quiet {
		logger.Print("shutting down")
	}
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// printBanner writes the profile table and the credentials it may show.
func printBanner(w io.Writer, base string, o demoprovider.Options) {
	for _, p := range demoprovider.Profiles() {
		fmt.Fprintf(w, "%-17s %s%s\n", p, base, demoprovider.Path(p))
	}
	fmt.Fprintf(w, "%-17s %s%s\n", "jwks", base, demoprovider.JWKSPath)
	fmt.Fprintf(w, "client id: %s\n", o.ClientID)
	if o.ClientSecret == demoprovider.DefaultClientSecret {
		fmt.Fprintf(w, "demo secret (public, for local use only): %s\n", o.ClientSecret)
	} else {
		fmt.Fprintln(w, "client secret: set by -client-secret or DEMO_CLIENT_SECRET (not shown)")
	}
	fmt.Fprintf(w, "username: %s\n", o.Username)
	if o.Password == demoprovider.DefaultPassword {
		fmt.Fprintf(w, "demo password (public, for local use only): %s\n", o.Password)
	} else {
		fmt.Fprintln(w, "password: set by -password or DEMO_PASSWORD (not shown)")
	}
}

// requestLine is the log line of a token request: profile, grant_type and
// status. grant_type is printed only when it is a known value, so no
// client-chosen text reaches the log.
func requestLine(r demoprovider.Received) string {
	grant := r.Fields["grant_type"]
	switch grant {
	case "client_credentials", "password", "refresh_token":
	case "":
		grant = "-"
	default:
		grant = "other"
	}
	line := fmt.Sprintf("%s grant_type=%s status=%d", r.Profile, grant, r.Status)
	if r.Error != "" {
		line += " error=" + r.Error
	}
	if r.Fault != "" {
		line += " fault=" + r.Fault
	}
	return line
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
