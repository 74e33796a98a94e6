// Command tokenhelper gets OAuth2 access tokens for shells and scripts:
//
//	curl -H "Authorization: Bearer $(tokenhelper token)" https://api.example.com/…
//
// It speaks every provider profile of package tokenhelper (Alphaus Ripple
// and Wave, Aluma, Alluvial, custom endpoints) or asks a deployed
// tokenhelper Worker, reads its settings from TOKENHELPER_* environment
// variables (secrets never from flags, which other users see in ps), and
// keeps tokens between invocations in the user's cache directory, so
// that a script calling it a thousand times makes one request, and one
// among processes that start at once (a file lock, see package
// filecache).
//
// Subcommands: token, decode, request, providers, logout (cache clear),
// help. Run `tokenhelper help` for the settings and exit statuses.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// cli is one invocation: its environment and streams, and what tests
// replace.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// transport sends token requests (nil: net/http).
	transport tokenhelper.Transport
	// cacheDir is the token cache ("": os.UserCacheDir()/tokenhelper).
	cacheDir string
	// now is the clock (nil: time.Now).
	now func() time.Time
}

// Exit statuses, by kind of failure.
const (
	exitOK       = 0
	exitOther    = 1 // a JWT that does not decode, output that cannot be written
	exitConfig   = 2 // a setting missing or invalid, a usage error: nothing was sent
	exitRejected = 3 // the provider (or worker) refused: invalid_client, invalid_grant, …
	exitNetwork  = 4 // no answer: network error or timeout
	exitBadReply = 5 // an answer that is not a token response
)

// run dispatches to the subcommand and returns the exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, "tokenhelper: a command is needed: token, decode, request, providers, logout, cache or help (see tokenhelper help)")
		return exitConfig
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "token":
		return c.token(ctx, rest)
	case "decode":
		return c.decode(rest)
	case "request":
		return c.request(rest)
	case "providers":
		return c.providers(rest)
	case "logout":
		return c.logout(rest)
	case "cache":
		return c.cache(rest)
	case "help", "-h", "-help", "--help":
		return c.help(rest)
	}
	fmt.Fprintf(c.stderr, "tokenhelper: unknown command %q (see tokenhelper help)\n", cmd)
	return exitConfig
}

func (c *cli) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// fail prints the one line of a failure on stderr and returns its status.
func (c *cli) fail(err error, prefix string) int {
	fmt.Fprintln(c.stderr, errorLine(err, prefix))
	return exitCode(err)
}
