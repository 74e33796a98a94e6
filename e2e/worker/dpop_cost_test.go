//go:build unix

package workere2e_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestDPoPCostInBareWorkerd prints what a DPoP proof check adds to an
// /api/ call in bare workerd, against the bearer path of the same worker
// in the same run: alternating rounds of one client, proofs made before
// the clock starts, an upstream that answers at once. A figure, not a
// bound (the machine is shared): it fails only when a call fails.
//
//	TOKENHELPER_E2E=1 go -C e2e test -count=1 -v -run TestDPoPCostInBareWorkerd ./worker/
func TestDPoPCostInBareWorkerd(t *testing.T) {
	harness.SkipShort(t)
	bundle := harness.WorkerBundle(t, false)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }))
	defer upstream.Close()
	_, key := testkeys.Ed25519(t)
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     strings.TrimSpace(key),
		worker.VarUpstream:       upstream.URL,
	}
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "dpopcost", Src: bundle, Files: devrun.BundleFiles, Vars: vars})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	es, _ := dpop.GenerateProver()
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed, _ := dpop.NewProver(edKey)
	bearer := mintFor(ctx, t, w.URL, testOrigin)
	bind := func(p *dpop.Prover) string {
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+"/token", nil)
		req.Header.Set("Origin", testOrigin)
		proof, _ := p.Proof("POST", w.URL+"/token", "")
		req.Header.Set("DPoP", proof)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m struct{ AccessToken, TokenType string }
		json.NewDecoder(res.Body).Decode(&struct {
			A *string `json:"access_token"`
			T *string `json:"token_type"`
		}{&m.AccessToken, &m.TokenType})
		if m.TokenType != "DPoP" {
			t.Fatalf("POST /token with a proof: token_type %q", m.TokenType)
		}
		return m.AccessToken
	}
	call := func(auth, proof string) time.Duration {
		req, _ := http.NewRequestWithContext(ctx, "GET", w.URL+"/api/x", nil)
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != 200 {
			t.Fatalf("GET /api/x: %d", res.StatusCode)
		}
		return d
	}
	const rounds, per = 5, 60
	provers := []*dpop.Prover{es, ed}
	bound := []string{bind(es), bind(ed)}
	var plain []time.Duration
	withProof := make([][]time.Duration, len(provers))
	proofs := func(i int) []string {
		out := make([]string, per)
		for j := range out {
			out[j], _ = provers[i].Proof("GET", w.URL+"/api/x", bound[i])
		}
		return out
	}
	for i := range provers { // warm up every path
		for _, pr := range proofs(i)[:20] {
			call("Bearer "+bearer, "")
			call("DPoP "+bound[i], pr)
		}
	}
	for range rounds {
		for range per {
			plain = append(plain, call("Bearer "+bearer, ""))
		}
		for i := range provers {
			for _, pr := range proofs(i) {
				withProof[i] = append(withProof[i], call("DPoP "+bound[i], pr))
			}
		}
	}
	q := func(d []time.Duration, f float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(f*float64(len(s)-1))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	t.Logf("/api/ in bare workerd, 1 client, %d calls each: bearer median %s p90 %s", len(plain), ms(q(plain, .5)), ms(q(plain, .9)))
	for i, alg := range []string{"ES256", "EdDSA"} {
		t.Logf("  DPoP with an %s proof: median %s p90 %s; median +%s", alg, ms(q(withProof[i], .5)), ms(q(withProof[i], .9)), ms(q(withProof[i], .5)-q(plain, .5)))
	}
}
