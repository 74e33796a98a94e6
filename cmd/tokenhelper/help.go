package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// usageText is the top of `tokenhelper help`.
const usageText = `tokenhelper gets OAuth2 access tokens for shells and scripts.

Usage:
  tokenhelper token [--header|--json [--reveal]] [flags]   print a token
  tokenhelper decode [JWT]          print a JWT's header and claims (argument or stdin; not verified)
  tokenhelper request [--curl]      print the token request, secrets masked (nothing is sent)
  tokenhelper providers             list the provider profiles
  tokenhelper logout                remove the token cache (also: tokenhelper cache clear)
  tokenhelper cache dir             print where the cache is
  tokenhelper help [command]        this text, or a command's flags

Example:
  curl -H "Authorization: Bearer $(tokenhelper token)" https://api.example.com/v1/items
  tokenhelper token --profile ripple --header
`

// helpTail follows the settings in `tokenhelper help`.
const helpTail = `Flags override the variables; secrets are never flags (a command line is
visible to every user in ps): --client-secret-file, --password-file and
--caller-token-file name files holding them.

--profile ripple (or TOKENHELPER_PROFILE=ripple) reads TOKENHELPER_RIPPLE_*
instead of TOKENHELPER_*, the worker's route convention, so that several
providers' credentials live side by side.

Worker mode (TOKENHELPER_WORKER=https://tokens.example.com/token): the token
comes from a deployed tokenhelper worker, which holds the credentials. A
worker in mode mint hands out its own short-lived token: it works only at
that worker's /api/ (which forwards to the provider's API), not at the
provider's API directly.

Cache: tokens are kept in $XDG_CACHE_HOME/tokenhelper (os.UserCacheDir),
directory 0700, files 0600, readable by your own processes only; never the
client secret or the password. Each secret has its own files (named with a
random key kept there): a wrong secret is tried, and the right one's token
stays. They are reused until shortly before they expire, then renewed with
the refresh token when there is one; invocations that start at once make
one request (a file lock). After a failure the next attempt waits 1 s,
doubling to 30 s (the provider's Retry-After up to 5 min): meanwhile
invocations fail at once, saying when the next attempt will be.
--no-cache skips the cache; tokenhelper logout removes it.

Exit status:
  0  success
  1  other failure (a JWT that does not decode, output that cannot be written)
  2  configuration or usage error: nothing was sent ("config: TOKENHELPER_CLIENT_ID is required")
  3  refused by the provider or worker (invalid_client, invalid_grant, temporarily_unavailable, ...)
  4  no answer: network error or timeout
  5  an answer that is not a token response (HTML, broken JSON, no access_token)
Errors are one line on stderr; stdout then stays empty.
`

func (c *cli) usage(w io.Writer) {
	io.WriteString(w, usageText)
	fmt.Fprintln(w, "\nSettings (environment, or the flag):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t--%s\t%s\n", envPrefix+s.name, s.flag, s.help)
	}
	fmt.Fprintf(tw, "  %s\t--%s\t%s\n", envPrefix+"PROFILE", "profile", "read TOKENHELPER_<PROFILE>_* instead")
	tw.Flush()
	fmt.Fprintln(w)
	io.WriteString(w, helpTail)
}

// help prints the usage, or a command's flags.
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	switch args[0] {
	case "token", "request", "decode", "providers", "logout":
		return c.run(context.Background(), []string{args[0], "-h"}) // -h prints on stdout
	case "cache":
		fmt.Fprintln(c.stdout, "tokenhelper cache clear   remove the token cache\ntokenhelper cache dir     print where it is")
		return exitOK
	}
	fmt.Fprintf(c.stderr, "tokenhelper: no command %q (see tokenhelper help)\n", args[0])
	return exitConfig
}

// commandHelp is a subcommand's -h, on fs's output: its line of the
// usage and its flags.
func (c *cli) commandHelp(fs *flag.FlagSet) {
	w := fs.Output()
	usage, _, _ := strings.Cut(usageText, "\n\nExample:")
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(l, "  tokenhelper "+fs.Name()+" ") {
			fmt.Fprintln(w, "Usage:\n"+l)
			break
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags (each setting is also a TOKENHELPER_ variable, see tokenhelper help):")
		fs.PrintDefaults()
	}
}

// flagProblem says what is wrong with the flags in a few words, naming
// the flag but never repeating a value (a user may paste a secret where
// a flag was expected). Secrets are never flags: --client-secret and its
// kin point at the variable and at the -file flag. It reads the flag
// package's messages, which have no error types (unchanged since Go 1;
// TestProcessUsageErrors would see them change).
func flagProblem(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		for _, s := range settings {
			if s.secret && name+"-file" == s.flag {
				return "--" + name + " is not a flag, since every user sees a command line in ps: set " +
					envPrefix + s.name + " or name a file holding it with --" + s.flag
			}
		}
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	if i := strings.LastIndex(msg, " -"); strings.HasPrefix(msg, "invalid ") && i > 0 {
		name, _, _ := strings.Cut(msg[i+2:], ":")
		return "--" + name + " has an invalid value"
	}
	return "bad flag syntax"
}
