//go:build unix

package main

import (
	"fmt"
	"io"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devvars"
)

// printBanner writes where each part answers; workerURL is "" without
// the worker. The page's worker mode gets the pass route (aluma): the
// mint routes hand out tokens that only their own /api/ takes.
func printBanner(w io.Writer, pageURL, demoURL, apiURL, workerURL string) {
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
	}
	fmt.Fprintf(w, `page:          %s/web/%s
               (#demo points every provider's token URL at the demo provider;
               #worker fills in the worker URL for the "Worker URL" mode)
demo provider: %s
credentials:   client id %s, secret %s
               (password grant: username %s, password %s)
               public demo values, for this loopback demo provider only
JS module:     %s/tokenhelper.mjs (import { load } from it)
`, pageURL, frag, demoURL,
		demoprovider.DefaultClientID, demoprovider.DefaultClientSecret,
		demoprovider.DefaultUsername, demoprovider.DefaultPassword, pageURL)
}
