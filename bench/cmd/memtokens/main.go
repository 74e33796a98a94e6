//go:build unix

// Command memtokens measures workerd's memory under many distinct minted
// tokens at /api/ (issue 19, item 7): the worker (the testhooks bundle, so
// that Go's own figures can be read) and the plain JavaScript proxy peer
// (bench/worker/proxy.mjs) each in a bare workerd of its own, the same
// tokens sent to both in turns, workerd's RSS read every -every requests.
//
//	go -C bench run ./cmd/memtokens -n 90000 [-clients 8] [-same]
//
// Run from the repository root after ./build.sh build hooks. -same sends
// one token n times instead (what distinct tokens add). Each workerd runs
// with its inspector on a free loopback port (-inspect: the worker's on
// that address, left open at the end for Chrome's DevTools): the live V8
// heap after a forced full collection is read before and after the load
// (harness.Inspector.LiveHeap), what the isolate really holds, beside the
// RSS, which also counts garbage not yet collected and what workerd's
// allocator keeps of its peak.
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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
)

const origin = "https://app.example.com"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memtokens:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 90000, "requests (distinct minted tokens) per target")
	clients := flag.Int("clients", 8, "concurrent clients")
	every := flag.Int("every", 10000, "read the RSS every this many requests")
	same := flag.Bool("same", false, "send one token n times instead of n distinct ones")
	bundle := flag.String("bundle", "dist/worker-testhooks", "the worker bundle (testhooks build)")
	inspect := flag.String("inspect", "", "run the worker's workerd with --inspector-addr=this (127.0.0.1:9229)")
	noPeer := flag.Bool("no-peer", false, "measure the worker alone")
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	bin, err := devrun.WorkerdBinary(root)
	if err != nil {
		return err
	}
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`+"\n")
	}))
	defer api.Close()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pem, err := testkeys.PEMOf(priv)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "memtokens-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	addr, err := inspectorAddr(*inspect)
	if err != nil {
		return err
	}
	args := []string{"--inspector-addr=" + addr}
	w, err := devrun.StartWorkerd(ctx, bin, mkdir(dir, "go"), []devrun.Service{{
		Name: "gateway", Src: filepath.Join(root, *bundle), Files: devrun.BundleFiles, Vars: map[string]string{
			"TOKEN_PROVIDER": "alphaus-ripple", "TOKEN_URL": provider.URL + demoprovider.Path("alphaus-ripple"),
			"CLIENT_ID": demoprovider.DefaultClientID, "CLIENT_SECRET": demoprovider.DefaultClientSecret,
			"ALLOWED_ORIGINS": origin, "MODE": "mint", "SIGNING_KEY": strings.TrimSpace(pem),
			"TOKEN_TTL": "3600", "UPSTREAM_API_URL": api.URL + "/v1",
		}}}, time.Minute, args...)
	if err != nil {
		return err
	}
	defer w.Stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; w.Stop(); os.RemoveAll(dir); os.Exit(130) }()

	m, err := newMinter(w.URL, priv)
	if err != nil {
		return err
	}
	// The first call fetches the provider token; the peer is given the
	// same one.
	if st, err := call(http.DefaultClient, w.URL, m.mint()); err != nil || st != 200 {
		return fmt.Errorf("first /api call: %d %v", st, err)
	}
	targets := []target{{name: "Go worker", p: w, hooks: true, service: "gateway", inspector: addr, poke: "/healthz"}}
	if !*noPeer {
		paddr, err := inspectorAddr("")
		if err != nil {
			return err
		}
		jwk, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))})
		peer, err := devrun.StartWorkerd(ctx, bin, mkdir(dir, "peer"), []devrun.Service{{
			Name: "peer", Src: filepath.Join(root, "bench", "worker"), Files: []string{"proxy.mjs"}, Vars: map[string]string{
				"ORIGIN": origin, "ISSUER": m.issuer, "JWK": string(jwk), "UPSTREAM": api.URL + "/v1", "PROVIDER_AUTH": "Bearer x",
			}}}, time.Minute, "--inspector-addr="+paddr)
		if err != nil {
			return err
		}
		defer peer.Stop()
		targets = append(targets, target{name: "JS proxy peer", p: peer, service: "peer", inspector: paddr, poke: "/healthz"})
	}
	mode := "distinct tokens"
	if *same {
		mode = "one token"
	}
	fmt.Printf("== %d GET /api/x at %d clients, %s, bare workerd; RSS in MB every %d requests\n", *n, *clients, mode, *every)
	one := m.mint()
	for i := range targets {
		t := &targets[i]
		if t.in, err = harness.DialInspector(ctx, t.inspector, t.service, t.p.URL+t.poke); err != nil {
			return err
		}
		defer t.in.Close()
		if t.heapBefore, err = t.in.LiveHeap(ctx); err != nil {
			return err
		}
		t.rss = append(t.rss, rss(t.p))
		if t.hooks {
			t.goBefore, _ = goMem(w.URL)
		}
	}
	// In steps, the targets taking turns, so that the machine's load
	// hits them alike.
	for done := 0; done < *n; done += *every {
		step := min(*every, *n-done)
		for i := range targets {
			t := &targets[i]
			bad := load(t.p.URL, *clients, step, func() string {
				if *same {
					return one
				}
				return m.mint()
			})
			t.bad += bad
			t.rss = append(t.rss, rss(t.p))
		}
	}
	time.Sleep(5 * time.Second)
	for i := range targets {
		t := &targets[i]
		t.rss = append(t.rss, rss(t.p))
		if t.hooks {
			t.goAfter, _ = goMem(w.URL)
		}
		if t.heapAfter, err = t.in.LiveHeap(ctx); err != nil {
			return err
		}
		afterGC := rss(t.p)
		var cols []string
		for _, r := range t.rss {
			cols = append(cols, fmt.Sprintf("%.0f", float64(r)/1e6))
		}
		fmt.Printf("%-14s RSS %s (last: 5 s idle); +%.0f MB; not 200: %d\n", t.name, strings.Join(cols, " "),
			float64(t.rss[len(t.rss)-1]-t.rss[0])/1e6, t.bad)
		fmt.Printf("%-14s live V8 heap after a full GC %.2f -> %.2f MB (%+.0f B a request); RSS after it %.0f MB\n", "",
			float64(t.heapBefore)/1e6, float64(t.heapAfter)/1e6, float64(t.heapAfter-t.heapBefore)/float64(*n), float64(afterGC)/1e6)
		if t.hooks {
			fmt.Printf("%-14s Go heap %.1f -> %.1f MB, Go Sys %.1f -> %.1f MB, %d GCs\n", "", t.goBefore.HeapAlloc/1e6, t.goAfter.HeapAlloc/1e6,
				t.goBefore.Sys/1e6, t.goAfter.Sys/1e6, int(t.goAfter.NumGC-t.goBefore.NumGC))
		}
	}
	if *inspect != "" {
		fmt.Println("inspector open on", *inspect, "(the worker); Ctrl-C to end")
		select {}
	}
	for _, t := range targets {
		if t.bad > 0 {
			return errors.New("some calls failed: the figures are meaningless")
		}
	}
	return nil
}

type target struct {
	name                  string
	p                     *devrun.Process
	hooks                 bool
	service, inspector    string
	poke                  string // a path that answers without side effects
	in                    *harness.Inspector
	heapBefore, heapAfter int64
	rss                   []int64
	bad                   int
	goBefore, goAfter     goStats
}

// inspectorAddr is addr, or a free loopback port when addr is empty.
func inspectorAddr(addr string) (string, error) {
	if addr != "" {
		return addr, nil
	}
	p, err := devrun.FreePort()
	return fmt.Sprintf("127.0.0.1:%d", p), err
}

func mkdir(parent, name string) string {
	d := filepath.Join(parent, name)
	os.MkdirAll(d, 0o700)
	return d
}

func rss(p *devrun.Process) int64 { r, _ := p.RSS(); return r }

// minter signs tokens as the worker does (the same key, issuer and kid).
type minter struct {
	issuer, kid string
	priv        ed25519.PrivateKey
}

// newMinter reads the issuer and kid from a token the worker mints.
func newMinter(workerURL string, priv ed25519.PrivateKey) (*minter, error) {
	req, _ := http.NewRequest("POST", workerURL+"/token", nil)
	req.Header.Set("Origin", origin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return nil, fmt.Errorf("POST /token: %d %v", res.StatusCode, err)
	}
	t, _, err := jwt.NewParser().ParseUnverified(body.AccessToken, jwt.MapClaims{})
	if err != nil {
		return nil, err
	}
	iss, _ := t.Claims.GetIssuer()
	kid, _ := t.Header["kid"].(string)
	return &minter{issuer: iss, kid: kid, priv: priv}, nil
}

func (m *minter) mint() string {
	now := time.Now()
	var jti [16]byte
	rand.Read(jti[:])
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": m.issuer, "aud": origin,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti[:])})
	t.Header["kid"] = m.kid
	s, _ := t.SignedString(m.priv)
	return s
}

func call(c *http.Client, base, tok string) (int, error) {
	req, _ := http.NewRequest("GET", base+"/api/x", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// load sends n calls with c clients, a token from tok each; it returns
// how many did not answer 200.
func load(base string, c, n int, tok func() string) int {
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for next.Add(1) <= int64(n) {
				if st, err := call(client, base, tok()); err != nil || st != 200 {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(bad.Load())
}

type goStats struct {
	HeapAlloc float64 `json:"go_heap_alloc"`
	Sys       float64 `json:"go_sys"`
	NumGC     float64 `json:"go_num_gc"`
}

func goMem(base string) (goStats, error) {
	var s goStats
	res, err := http.Get(base + "/__test/instance")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	return s, json.NewDecoder(res.Body).Decode(&s)
}
