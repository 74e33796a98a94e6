//go:build unix

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devvars"
)

// printBanner writes where each part answers; workerURL is "" without
// the worker. The page's worker mode gets the pass route (aluma): the
// mint routes hand out tokens that only their own /api/ takes.
func printBanner(w io.Writer, pageURL, demoURL, apiURL, workerURL string, origins []string) {
	frag := "#demo=" + demoURL
	if workerURL != "" {
		frag += "&worker=" + workerURL + "/aluma/token"
		fmt.Fprintln(w, "worker routes:")
		for _, r := range devvars.Routes {
			api := ""
			if r.Mode == "mint" {
				api = fmt.Sprintf("; %s/%s/api/* -> demo API %s/%s", workerURL, r.Name, apiURL, r.Name)
			}
			fmt.Fprintf(w, "  %-6s %s/%s/token (%s, mode %s%s)\n", r.Name, workerURL, r.Name, r.Profile, r.Mode, api)
		}
		if len(origins) > 0 {
			fmt.Fprintf(w, "  allowed origins: the page's and %s\n", strings.Join(origins, ", "))
		} else {
			fmt.Fprintln(w, "  allowed origins: the page's (your app's too: DEV_ALLOWED_ORIGINS=http://localhost:5173 ./build.sh dev)")
		}
		// The route status takes a secret of its own (worker/README.md,
		// "Operating the worker"); the token events print below as JSON.
		fmt.Fprintf(w, "  route status: curl -H \"Authorization: Bearer $STATUS_TOKEN\" %s/status (with STATUS_TOKEN=… in %s)\n", workerURL, "worker/.dev.vars")
		fmt.Fprintln(w, "  token events: one JSON line each, after \"wrangler | \" in this output (worker/README.md, \"Operating the worker\")")
	}
	fmt.Fprintf(w, `page:          %s/web/%s
               (#demo points every provider's token URL at the demo provider;
               #worker fills in the worker URL for the "Worker URL" mode)
demo provider: %s (GET / lists these token URLs as JSON)
%scredentials:   client id %s, secret %s
               (password grant: username %s, password %s)
               public demo values, for this loopback demo provider only
JS module:     %s/tokenhelper.mjs (import { load } from it)
`, pageURL, frag, demoURL, tokenURLs(demoURL),
		demoprovider.DefaultClientID, demoprovider.DefaultClientSecret,
		demoprovider.DefaultUsername, demoprovider.DefaultPassword, pageURL)
}

// tokenURLs lists the token URL of each profile of the demo provider at
// demoURL, one a line, for a command-line user (the settings'
// TOKENHELPER_TOKEN_URL, curl).
func tokenURLs(demoURL string) string {
	var b strings.Builder
	for _, p := range demoprovider.Profiles() {
		fmt.Fprintf(&b, "  %-17s %s%s\n", p, demoURL, demoprovider.Path(p))
	}
	return b.String()
}
