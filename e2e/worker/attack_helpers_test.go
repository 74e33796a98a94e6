//go:build unix

package workere2e_test

// The gateway attack suite (issue 19): someone holding a minted token
// attacks /api/ of the built worker, in bare workerd and in wrangler dev,
// with a real Tomcat 10 as the API behind it (e2e/harness/tomcat), which
// reads paths as a servlet container does and records every request it
// serves. Each attack_*_test.go file holds one kind of attack; this file
// holds the driver and what they share.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"

	"net/http/httptest"
)

// attackMaxBody is the gateway's MAX_REQUEST_BODY in the suite: small, so
// that an oversized upload is quick.
const attackMaxBody = 2 << 20

// secondOrigin is a second allowed origin: another user of the gateway.
const secondOrigin = "https://other.example.com"

// gateway is the worker under attack in one runtime.
type gateway struct {
	url    string
	tomcat *harness.Tomcat
	demo   *demoprovider.Server
	token  string // minted for testOrigin
	log    func() string
	sent   int // attack requests sent, for the figures
}

// attacks are the suite's attacks, in the order they run (the 401 one
// last: it leaves the provider token renewed).
var attacks = []struct {
	name string
	run  func(t *testing.T, g *gateway)
}{
	{"paths", attackPaths},
	{"headers", attackHeaders},
	{"oversize", attackOversize},
	{"401", attack401},
}

// TestGatewayAttacks runs every attack against the gateway in bare
// workerd and in wrangler dev, one Tomcat behind both; whatever happens,
// Tomcat's secret outside the base (/base/admin/) is never reached.
func TestGatewayAttacks(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	tc := harness.StartTomcat(t)
	t.Logf("Tomcat 10 listening %v after launch", tc.Started.Round(10*time.Millisecond))
	for _, rt := range []string{"bare", "wrangler"} {
		t.Run(rt, func(t *testing.T) {
			start := time.Now()
			g := startGateway(t, rt, bundle, tc)
			for _, a := range attacks {
				t.Run(a.name, func(t *testing.T) { a.run(t, g) })
			}
			t.Logf("%s: %d attack requests in %v", rt, g.sent, time.Since(start).Round(100*time.Millisecond))
		})
	}
	var outside []harness.TomcatHit
	for _, h := range tc.Hits(0) {
		if h.Servlet != "api" {
			outside = append(outside, h)
		}
	}
	if len(outside) > 0 {
		t.Errorf("Tomcat served %d requests outside /base/ripple/: %+v", len(outside), outside)
	}
	t.Logf("Tomcat served %d requests, %d outside the base", tc.Count(), len(outside))
}

// startGateway runs the worker bundle in mode mint in runtime rt ("bare"
// or "wrangler") against a demo provider of its own and Tomcat's API at
// /base/ripple, and mints a token for testOrigin.
func startGateway(t *testing.T, rt, bundle string, tc *harness.Tomcat) *gateway {
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	t.Cleanup(provider.Close)
	_, key := testkeys.Ed25519(t)
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: testOrigin + "," + secondOrigin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     strings.TrimSpace(key),
		worker.VarUpstream:       tc.URL + "/base/ripple",
		"MAX_REQUEST_BODY":       strconv.Itoa(attackMaxBody),
	}
	g := &gateway{tomcat: tc, demo: demo}
	switch rt {
	case "bare":
		w := harness.StartBareWorkerd(t, devrun.Service{Name: "gateway", Src: bundle, Files: devrun.BundleFiles, Vars: vars})
		g.url, g.log = w.URL, w.Log
	default:
		vars[worker.VarSigningKey] = dotenvQuoted(key)
		w := harness.StartWorkerd(t, harness.Wrangler(t), workerDir(t, bundle, vars, 100000, false), t.TempDir())
		g.url, g.log = w.URL, w.Log
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g.token = mintFor(ctx, t, g.url, testOrigin)
	return g
}

// raw sends one request to the gateway exactly as written (request
// target included: no client normalizes it), with the origin and the
// minted token, and reads the answer (its body read whole, at most 1 MiB).
func (g *gateway) raw(t *testing.T, method, target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	g.sent++
	u, _ := url.Parse(g.url)
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n", method, target, u.Host, testOrigin, g.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res, string(body)
}

// call sends method to the gateway's path with body (n bytes; -1 sends
// it chunked) for origin with token, through Go's client.
func (g *gateway) call(t *testing.T, method, path, origin, token string, body io.Reader, n int64) (*http.Response, string, error) {
	t.Helper()
	g.sent++
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, g.url+path, body)
	req.ContentLength = n
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, string(b), err
}

// hitsOf waits up to d until Tomcat has recorded want requests for uri
// from its n-th record on, and returns those it has (records arrive a
// moment after their answers).
func hitsOf(tc *harness.Tomcat, n int, uri string, want int, d time.Duration) []harness.TomcatHit {
	deadline := time.Now().Add(d)
	for {
		var out []harness.TomcatHit
		for _, h := range tc.Hits(n) {
			if h.URI == uri {
				out = append(out, h)
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}
