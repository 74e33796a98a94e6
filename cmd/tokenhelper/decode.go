package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// decode prints a JWT's header and claims, WITHOUT verifying it, with
// exp and iat as dates and how long is left. The token is the
// argument or stdin (an `Authorization: Bearer` line is fine).
func (c *cli) decode(args []string) int {
	fs := c.flagSet("decode")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	var raw string
	switch fs.NArg() {
	case 0:
		b, err := io.ReadAll(io.LimitReader(c.stdin, 1<<20))
		if err != nil {
			fmt.Fprintln(c.stderr, "tokenhelper: decode: "+err.Error())
			return exitOther
		}
		raw = string(b)
	case 1:
		raw = fs.Arg(0)
	default:
		return c.usageError("decode", "takes one JWT (or none, to read stdin)")
	}
	tok := bearer(raw)
	in, err := tokenhelper.Inspect(tok)
	if err != nil {
		fmt.Fprintln(c.stderr, "tokenhelper: decode: "+err.Error())
		return exitOther
	}
	var b strings.Builder
	for i, title := range []string{"header", "claims"} {
		seg, _ := tokenhelper.DecodeSegmentJSON(tok, i) // Inspect checked both
		var out bytes.Buffer
		json.Indent(&out, seg, "", "  ")
		b.WriteString(title + ": " + out.String() + "\n")
	}
	now := c.clock()
	for _, d := range []struct {
		claim, label string
	}{{"iat", "issued"}, {"exp", "expires"}} {
		if t, ok := claimTime(in, d.claim); ok {
			fmt.Fprintf(&b, "%-8s %s (%s)\n", d.label+":", t.UTC().Format(time.RFC3339), relative(t, now, d.claim == "exp"))
		}
	}
	b.WriteString("(signature not verified)\n")
	_, err = io.WriteString(c.stdout, b.String())
	return exitFor(err)
}

// bearer cuts the token out of what a user may paste: an Authorization
// header line or a Bearer value.
func bearer(s string) string {
	s = strings.TrimSpace(s)
	if k, v, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "authorization") {
		s = strings.TrimSpace(v)
	}
	if scheme, v, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "bearer") {
		s = strings.TrimSpace(v)
	}
	return s
}

func claimTime(in *tokenhelper.Inspection, claim string) (time.Time, bool) {
	if claim == "exp" {
		return in.Expiry()
	}
	return in.IssuedAt()
}

// relative says how far t is from now: "in 23h59m0s", "5m0s ago", and
// for an expiry "expired 5m0s ago".
func relative(t, now time.Time, expiry bool) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case expiry:
		return "expired " + (-d).String() + " ago"
	case d == 0:
		return "now"
	}
	return (-d).String() + " ago"
}
