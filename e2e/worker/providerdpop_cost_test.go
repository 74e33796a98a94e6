//go:build unix

package workere2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestProviderDPoPCostInBareWorkerd prints what signing a DPoP proof
// for the upstream call (TOKEN_DPOP_KEY) adds to an /api/ call in bare
// workerd, against a route of the same worker without it, in the same
// run: three routes before the demo provider's custom profile (which
// binds its tokens to the proof's key), alternating rounds of one
// client, an upstream that answers at once and records whether each
// call carried "Authorization: DPoP" and a proof. A figure, not a bound
// (the machine is shared): it fails only when a call fails or a route
// sends the wrong kind of token upstream.
//
//	TOKENHELPER_E2E=1 go -C e2e test -count=1 -v -run TestProviderDPoPCostInBareWorkerd ./worker/
func TestProviderDPoPCostInBareWorkerd(t *testing.T) {
	harness.SkipShort(t)
	bundle := harness.WorkerBundle(t, false)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	var mu sync.Mutex
	seen := map[string]string{} // route -> the kinds of Authorization it sent up
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if r.Header.Get("DPoP") != "" {
			scheme += "+proof"
		}
		mu.Lock()
		if !strings.Contains(seen[route], scheme) {
			seen[route] += scheme + " "
		}
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	_, signing := testkeys.Ed25519(t)
	esKey, _ := dpop.GeneratePEM()
	_, edKey := testkeys.Ed25519(t)
	routes := []string{"plain", "es", "ed"}
	vars := env{
		worker.VarRoutes:               strings.Join(routes, ","),
		worker.VarProvider:             "custom",
		worker.VarTokenURL:             provider.URL + demoprovider.Path("custom"),
		worker.VarClientID:             demoprovider.DefaultClientID,
		worker.VarClientSecret:         secret,
		worker.VarAllowedOrigins:       testOrigin,
		worker.VarMode:                 "mint",
		worker.VarSigningKey:           strings.TrimSpace(signing),
		"ES_" + worker.VarTokenDPoPKey: string(esKey),
		"ED_" + worker.VarTokenDPoPKey: strings.TrimSpace(edKey),
	}
	for _, r := range routes {
		vars[strings.ToUpper(r)+"_"+worker.VarUpstream] = upstream.URL + "/" + r
	}
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "providerdpopcost", Src: bundle, Files: devrun.BundleFiles, Vars: vars})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	minted := map[string]string{}
	for _, r := range routes {
		minted[r] = mintFor(ctx, t, w.URL+"/"+r, testOrigin)
	}
	call := func(route string) time.Duration {
		req, _ := http.NewRequestWithContext(ctx, "GET", w.URL+"/"+route+"/api/x", nil)
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+minted[route])
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != 200 {
			t.Fatalf("GET /%s/api/x: %d", route, res.StatusCode)
		}
		return d
	}
	for range 20 { // warm up every path
		for _, r := range routes {
			call(r)
		}
	}
	const rounds, per = 5, 60
	took := map[string][]time.Duration{}
	for range rounds {
		for _, r := range routes {
			for range per {
				took[r] = append(took[r], call(r))
			}
		}
	}
	mu.Lock()
	if seen["plain"] != "Bearer " || seen["es"] != "DPoP+proof " || seen["ed"] != "DPoP+proof " {
		t.Errorf("upstream saw %q; want plain: Bearer, es and ed: DPoP with a proof", seen)
	}
	mu.Unlock()
	q := func(d []time.Duration, f float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(f*float64(len(s)-1))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	plain := took["plain"]
	t.Logf("/api/ in bare workerd, 1 client, %d calls each: provider token as Bearer: median %s p90 %s", len(plain), ms(q(plain, .5)), ms(q(plain, .9)))
	for _, r := range []struct{ route, alg string }{{"es", "ES256"}, {"ed", "EdDSA"}} {
		d := took[r.route]
		t.Logf("  DPoP-bound, the worker signing an %s proof per call: median %s p90 %s; median +%s", r.alg, ms(q(d, .5)), ms(q(d, .9)), ms(q(d, .5)-q(plain, .5)))
	}
}
