//go:build unix

// Command mintbench measures what the worker's mode mint costs a call:
// the latency of GET /api/x through the worker (in local workerd, wrangler
// dev) against GET /v1/x on the demo API directly with the provider's
// token, median and p99, with each number of keep-alive HTTP/1.1 clients
// (bench/loadgen), side by side with the overhead (difference and
// ratio). A reference row, POST /token (the worker signs a token and
// contacts nobody), shows how much of the overhead is the worker (and
// wrangler dev's proxy) alone rather than the extra hop to the API.
//
// Everything runs on loopback in one run: the demo provider and the demo
// API (which verifies the provider's token and echoes the call) in this
// process, the worker bundle in workerd with MODE=mint and a fresh Ed25519
// SIGNING_KEY (-alg HS256: a random secret). One token is minted first and used for every proxied call;
// the provider token the worker forwards is the one the direct calls use.
// The table goes to stdout, everything as JSON to -json.
//
//	mintbench [-n 300] [-clients 1,8] [-alg EdDSA|HS256] [-instance per-request] [-bundle dist/worker]
//	          [-runtime wrangler|workerd] [-json dist/bench/mint.json]
//
// -runtime workerd runs the worker and the peer in bare workerd (the
// binary of wrangler's npm package with our own config), where wrangler
// dev's proxy does not add its milliseconds to both sides.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/bench/loadgen"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/verify"
)

// origin is the page origin the worker admits and the proxied calls send.
const origin = "http://127.0.0.1:8080"

// Report is what -json writes.
type Report struct {
	Schema   string    `json:"schema"`
	Time     time.Time `json:"time"`
	Go       string    `json:"go"`
	CPUs     int       `json:"cpus"`
	Requests int       `json:"requests_per_row"`
	Alg      string    `json:"alg"`
	Runtime  string    `json:"runtime"`
	Rows     []Row     `json:"rows"`
	Provider int       `json:"provider_token_requests"`
	// Big is the median time of a large answer, ms: direct, worker, JS peer.
	Big     map[string]float64 `json:"big_answer_ms"`
	Harness string             `json:"harness"`
	Note    string             `json:"note"`
}

// Row compares the two paths at one number of clients.
type Row struct {
	Clients        int            `json:"clients"`
	Direct         loadgen.Result `json:"direct"`
	Proxied        loadgen.Result `json:"proxied"`
	MintOnly       loadgen.Result `json:"mint_only"`
	Peer           loadgen.Result `json:"js_peer"`
	OverheadMedian float64        `json:"overhead_median_ms"`
	OverheadP99    float64        `json:"overhead_p99_ms"`
	RatioMedian    float64        `json:"ratio_median"`
	RatioP99       float64        `json:"ratio_p99"`
	// PeerRatio* are ours over the plain JavaScript proxy's.
	PeerRatioMedian float64 `json:"ratio_js_peer_median"`
	PeerRatioP99    float64 `json:"ratio_js_peer_p99"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mintbench:", err)
		os.Exit(1)
	}
}

func run() error {
	requests := flag.Int("n", 300, "requests per row")
	clientList := flag.String("clients", "1,8", "comma list of concurrent clients")
	bundle := flag.String("bundle", "dist/worker", "the worker bundle")
	rt := flag.String("runtime", "wrangler", "where the workers run: wrangler (wrangler dev) or workerd (bare workerd, no proxy in front)")
	jsonOut := flag.String("json", "dist/bench/mint.json", "where to write the JSON report (empty: nowhere)")
	alg := flag.String("alg", "EdDSA", "signing algorithm of the minted token: EdDSA or HS256")
	instance := flag.String("instance", "", "GO_INSTANCE of the worker: long-lived (the default) or per-request")
	rounds := flag.Int("rounds", 5, "rounds per row, the paths taking turns (against drift in the machine's load)")
	flag.Parse()
	clients, err := loadgen.ParseClients(*clientList)
	if err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	root, err := os.Getwd() // the repository: ./build.sh runs us there
	if err != nil {
		return err
	}

	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		return err
	}
	echo := &demoapi.API{Keys: keys}
	big := make([]byte, bigSize)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/big" { // the large answer, for the streaming row
			w.Header().Set("Content-Length", strconv.Itoa(bigSize))
			w.Write(big)
			return
		}
		echo.ServeHTTP(w, r)
	}))
	defer api.Close()
	key, err := signingKey(*alg)
	if err != nil {
		return err
	}
	vars := map[string]string{
		"TOKEN_PROVIDER":   "alphaus-ripple",
		"TOKEN_URL":        provider.URL + demoprovider.Path("alphaus-ripple"),
		"CLIENT_ID":        demoprovider.DefaultClientID,
		"CLIENT_SECRET":    demoprovider.DefaultClientSecret,
		"ALLOWED_ORIGINS":  origin,
		"MODE":             "mint",
		"SIGNING_KEY":      key,
		"TOKEN_TTL":        "3600", // outlives the run: one token for every call
		"UPSTREAM_API_URL": api.URL + "/v1",
	}
	if *instance != "" {
		vars["GO_INSTANCE"] = *instance
	}
	dir, err := os.MkdirTemp("", "mintbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	w, err := devrun.LaunchIn(*rt, root, dir, *bundle, "mintbench", devrun.BundleFiles, vars)
	if err != nil {
		return err
	}
	defer w.Stop()
	// wrangler runs in its own process group: stop it on Ctrl-C too.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; w.Stop(); os.RemoveAll(dir); os.Exit(130) }()
	defer signal.Stop(sig)

	minted, err := mint(w.URL)
	if err != nil {
		return fmt.Errorf("POST /token: %w", err)
	}
	// The first proxied call fetches the provider token; the API echoes
	// what it received, which a direct call needs: the provider token.
	if status, body, err := get(w.URL+"/api/x", "Bearer "+minted); err != nil || status != 200 {
		return fmt.Errorf("first GET /api/x: %d %.200s %v", status, body, err)
	}
	got := echo.Received()
	if len(got) != 1 || len(got[0].Headers["Authorization"]) != 1 {
		return fmt.Errorf("the demo API received %d calls, want 1 with a token", len(got))
	}
	providerAuth := got[0].Headers["Authorization"][0]
	peer, err := startPeer(*rt, root, w.URL, api.URL+"/v1", providerAuth)
	if err != nil {
		return fmt.Errorf("the JavaScript proxy peer: %w", err)
	}
	defer peer.Stop()
	fmt.Printf("== mode mint in %s: ready in %.0f ms; one minted token (%s, TOKEN_TTL 3600) for every proxied call\n",
		report.Runtimes[*rt], float64(time.Since(t0))/float64(time.Millisecond), *alg)

	rep := &Report{
		Schema: "tokenhelper.bench.mint/v1", Time: time.Now().UTC(), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Requests: *requests, Alg: *alg, Runtime: *rt,
		Harness: report.Runtimes[*rt] + " on loopback; keep-alive HTTP/1.1 clients (bench/loadgen); demo API in process",
		Note: "direct: GET <demo API>/v1/x with the provider token; proxied: GET <worker>/api/x with a minted token and Origin, " +
			"which the worker verifies and forwards with the provider token (cached); mint_only: POST <worker>/token (signs, " +
			"contacts nobody), the worker's own share; under wrangler, its proxy is part of every worker figure",
	}
	before := demo.Count()
	fmt.Printf("\n== GET through the worker (/api/x) vs the demo API directly (/v1/x), %d requests per row\n", *requests)
	fmt.Printf("%-8s %-28s %10s %10s %10s %8s\n", "clients", "path", "median", "p99", "req/s", "non-200")
	for _, c := range clients {
		row := Row{Clients: c}
		// In rounds, the paths taking turns, so that a change in the
		// machine's load hits them alike.
		var direct, proxied, viaPeer, mintOnly []loadgen.Result
		per := max(1, *requests / *rounds)
		for range *rounds {
			direct = append(direct, load(api.URL+"/v1/x", providerAuth, "", c, per))
			proxied = append(proxied, load(w.URL+"/api/x", "Bearer "+minted, origin, c, per))
			viaPeer = append(viaPeer, load(peer.URL+"/api/x", "Bearer "+minted, origin, c, per))
			mintOnly = append(mintOnly, load(w.URL+"/token", "", origin, c, per))
		}
		row.Direct, row.Proxied, row.Peer, row.MintOnly = loadgen.Merge(direct), loadgen.Merge(proxied), loadgen.Merge(viaPeer), loadgen.Merge(mintOnly)
		for _, r := range []struct {
			name string
			res  loadgen.Result
		}{{"direct (demo API)", row.Direct}, {"through the worker (/api)", row.Proxied}, {"through the JS proxy peer", row.Peer}, {"reference: POST /token", row.MintOnly}} {
			fmt.Printf("%-8d %-28s %10s %10s %10.0f %8d\n", c, r.name, ms(r.res.Median), ms(r.res.P99), r.res.PerSec,
				r.res.Requests-r.res.Statuses[200])
		}
		row.OverheadMedian = report.Round3(msf(row.Proxied.Median) - msf(row.Direct.Median))
		row.OverheadP99 = report.Round3(msf(row.Proxied.P99) - msf(row.Direct.P99))
		row.RatioMedian = report.Round3(float64(row.Proxied.Median) / float64(max(1, row.Direct.Median)))
		row.RatioP99 = report.Round3(float64(row.Proxied.P99) / float64(max(1, row.Direct.P99)))
		fmt.Printf("%-8d %-28s %+7.2f ms %+7.2f ms\n", c, "overhead (worker - direct)", row.OverheadMedian, row.OverheadP99)
		fmt.Printf("%-8d %-28s %9.1fx %9.1fx\n", c, "ratio (worker / direct)", row.RatioMedian, row.RatioP99)
		row.PeerRatioMedian = report.Round3(float64(row.Proxied.Median) / float64(max(1, row.Peer.Median)))
		row.PeerRatioP99 = report.Round3(float64(row.Proxied.P99) / float64(max(1, row.Peer.P99)))
		fmt.Printf("%-8d %-28s %9.2fx %9.2fx   goal (issue 20) median <= 1.2x: %s, p99 <= 1.5x: %s\n", c, "ratio (worker / JS peer)",
			row.PeerRatioMedian, row.PeerRatioP99, verdict(row.PeerRatioMedian <= 1.2), verdict(row.PeerRatioP99 <= 1.5))
		rep.Rows = append(rep.Rows, row)
	}
	fmt.Printf("\n== a %d MiB answer through /api (median of %d)\n", bigSize>>20, bigRuns)
	rep.Big = map[string]float64{}
	for _, t := range []struct{ name, url, auth string }{
		{"direct", api.URL + "/v1/big", providerAuth},
		{"worker", w.URL + "/api/big", "Bearer " + minted},
		{"JS peer", peer.URL + "/api/big", "Bearer " + minted},
	} {
		d, err := download(t.url, t.auth, bigRuns)
		if err != nil {
			return fmt.Errorf("%s: GET big: %w", t.name, err)
		}
		rep.Big[t.name] = report.MS(d)
		fmt.Printf("%-10s %10.1f ms\n", t.name, report.MS(d))
	}
	r := report.Round3(rep.Big["worker"] / max(0.001, rep.Big["JS peer"]))
	fmt.Printf("ratio worker / JS peer: %.2fx   goal <= 1.5x: %s\n", r, verdict(r <= 1.5))
	rep.Provider = demo.Count() - before
	fmt.Printf("provider token requests during the measurement: %d\n", rep.Provider)

	var bad []string
	for _, r := range rep.Rows {
		for name, res := range map[string]loadgen.Result{"direct": r.Direct, "proxied": r.Proxied, "JS peer": r.Peer, "POST /token": r.MintOnly} {
			if n := res.Requests - res.Statuses[200]; n > 0 || res.Requests == 0 {
				bad = append(bad, fmt.Sprintf("%s at %d clients: %d of %d not 200 (%v)", name, r.Clients, n, res.Requests, res.Statuses))
			}
		}
	}
	if err := report.WriteJSON(*jsonOut, rep); err != nil {
		return err
	}
	if *jsonOut != "" {
		fmt.Println("wrote", *jsonOut)
	}
	if len(bad) > 0 {
		return errors.New("failed calls make the figures meaningless: " + strings.Join(bad, "; "))
	}
	return nil
}

// signingKey returns a fresh SIGNING_KEY: an Ed25519 private key in
// PKCS#8 PEM, or a random HS256 secret.
func signingKey(alg string) (string, error) {
	switch alg {
	case "HS256":
		b := make([]byte, 48)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "EdDSA":
	default:
		return "", errors.New("-alg: want EdDSA or HS256")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	return testkeys.PEMOf(priv)
}

// mint gets a minted token from the worker for origin.
func mint(workerURL string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, workerURL+"/token", nil)
	req.Header.Set("Origin", origin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var m struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m.AccessToken == "" {
		return "", fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	return m.AccessToken, nil
}

// get sends one GET with the page's Origin and the given Authorization.
func get(url, auth string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// load sends 20 uncounted requests, then n counted ones, with c clients:
// GET with the Authorization, or POST (to /token) without one.
func load(url, auth, origin string, c, n int) loadgen.Result {
	method := http.MethodGet
	if auth == "" {
		method = http.MethodPost
	}
	newReq := func() (*http.Request, error) {
		r, err := http.NewRequest(method, url, nil)
		if err == nil && auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if err == nil {
			r.Header.Set("Accept", "application/json")
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
		}
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	loadgen.Run(ctx, c, 20, newReq)
	return loadgen.Run(ctx, c, n, newReq)
}

func ms(d loadgen.Duration) string   { return fmt.Sprintf("%.2f ms", msf(d)) }
func msf(d loadgen.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// The large answer of the streaming row.
const (
	bigSize = 20 << 20
	bigRuns = 5
)

// startPeer runs bench/worker/proxy.mjs in runtime rt, verifying the
// tokens the worker at workerURL mints with its published key.
func startPeer(rt, root, workerURL, upstream, providerAuth string) (*devrun.Process, error) {
	res, err := http.Get(workerURL + "/.well-known/jwks.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		return nil, fmt.Errorf("the worker's JWKS: %v (%d keys; the peer verifies EdDSA only)", err, len(set.Keys))
	}
	dir, err := os.MkdirTemp("", "mintbench-peer-")
	if err != nil {
		return nil, err
	}
	return devrun.LaunchIn(rt, root, dir, filepath.Join("bench", "worker"), "proxy-peer", []string{"proxy.mjs"}, map[string]string{
		"ORIGIN": origin, "ISSUER": workerURL, "JWK": string(set.Keys[0]), "UPSTREAM": upstream, "PROVIDER_AUTH": providerAuth,
	})
}

// download GETs url n times, reading the whole answer, and returns the
// median time.
func download(url, auth string, n int) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Authorization", auth)
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		got, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || got != bigSize {
			return 0, fmt.Errorf("status %d, %d bytes, %v", res.StatusCode, got, err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
