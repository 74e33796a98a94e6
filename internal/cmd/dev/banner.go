//go:build unix

package main

import (
	"fmt"
	"io"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// printBanner writes where each part answers; workerURL is "" without
// the worker.
func printBanner(w io.Writer, pageURL, demoURL, workerURL string) {
	frag := "#demo=" + demoURL
	if workerURL != "" {
		frag += "&worker=" + workerURL + "/token"
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
