package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/tokenhelper/tokenhelper"
)

// providers lists the built-in profiles.
func (c *cli) providers(args []string) int {
	fs := c.flagSet("providers")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageError("providers", "takes no arguments")
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROVIDER\tBODY\tGRANTS\tTOKEN URL\tNOTES")
	for _, p := range tokenhelper.Providers() {
		enc, url := p.Encoding.String(), p.TokenURL
		if p.ID == tokenhelper.ProviderCustom {
			enc, url = "any", "(TOKENHELPER_TOKEN_URL)"
		}
		notes := p.Notes
		if p.Audience != "" {
			notes += " Audience " + p.Audience + "."
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.ID, enc, strings.Join(p.Grants, ","), url, notes)
	}
	return exitFor(w.Flush())
}

// exitFor is the status after writing the output: 0, or 1 when it could
// not be written.
func exitFor(err error) int {
	if err != nil {
		return exitOther
	}
	return exitOK
}
