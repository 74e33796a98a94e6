//go:build unix

package standardse2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
)

// boundAPI is a resource server for oidc-provider's DPoP-bound access
// tokens (RFC 9449 7): it accepts "Authorization: DPoP <token>" only when
// the token verifies with the provider's keys for the resource, and a
// proof (dpop.Checker: htm, htu, iat, jti once, ath) by the key the
// token's cnf.jkt names carries the API's own nonce, which it asks for
// with a use_dpop_nonce 401 (RFC 9449 9). It records its verdicts.
type boundAPI struct {
	*httptest.Server
	checker dpop.Checker
	nonce   string // the nonce it demands (apiNonce; "" for none), set before use
	mu      sync.Mutex
	seen    []string
}

const apiNonce = "api-nonce-1"

func newBoundAPI(t *testing.T, p *oidcProvider) *boundAPI {
	a := &boundAPI{nonce: apiNonce}
	a.Server = httptest.NewServer(a.handler(p))
	t.Cleanup(a.Close)
	return a
}

// handler is the API's handler, apart for a test that wraps it (CORS).
func (a *boundAPI) handler(p *oidcProvider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verdict := a.check(p, r)
		a.mu.Lock()
		a.seen = append(a.seen, verdict)
		a.mu.Unlock()
		switch verdict {
		case "ok":
			fmt.Fprintf(w, "hello %s", r.URL.RawQuery)
		case "use_dpop_nonce":
			w.Header().Set("DPoP-Nonce", a.nonce)
			fallthrough
		default:
			w.Header().Set("WWW-Authenticate", `DPoP algs="ES256 EdDSA", error="`+verdict+`"`)
			w.WriteHeader(401)
		}
	})
}

func (a *boundAPI) check(p *oidcProvider, r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
	if !ok {
		return "invalid_token"
	}
	claims, err := verify.JWT(tok, p.keys, verify.Options{Issuer: p.issuer, Audience: resource})
	if err != nil {
		return "invalid_token"
	}
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	proof, err := a.checker.Check(r.Header.Get("DPoP"), r.Method, a.URL+r.URL.Path, tok)
	switch {
	case jkt == "":
		return "invalid_token" // a bearer token, not bound
	case err != nil || proof.JKT != jkt:
		return "invalid_dpop_proof"
	case proof.Nonce != a.nonce:
		return "use_dpop_nonce"
	}
	return "ok"
}

func (a *boundAPI) verdicts() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.seen, ",")
}

// statuses is a tokenhelper Transport over net/http that records the
// status of each answer.
type statuses struct {
	mu   sync.Mutex
	list []string
}

func (s *statuses) RoundTrip(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
	resp, err := nethttp.New(nil).RoundTrip(ctx, r)
	if err == nil {
		s.mu.Lock()
		s.list = append(s.list, fmt.Sprint(resp.Status))
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statuses) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.list, ",")
}

// TestCoreDPoPAtOIDCProvider: with Config.DPoP, oidc-provider (nonces
// required) answers the first token request use_dpop_nonce and the
// second with a DPoP-bound token (token_type DPoP, cnf.jkt the key's
// thumbprint); nethttp.NewClient's calls with it are accepted by an API
// that checks the proof, after one use_dpop_nonce of its own, and a
// second Source reuses the remembered nonce (one token request). The
// same client without a proof is refused by the provider; the bound
// token sent as a bearer token, or with another key's proof, is refused
// by the API.
func TestCoreDPoPAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	api := newBoundAPI(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prover, err := dpop.GenerateProver()
	if err != nil {
		t.Fatal(err)
	}
	sent := &statuses{}
	cfg := tokenhelper.Config{TokenURL: p.issuer + "/token", ClientID: clientID + "-dpop", ClientSecret: clientSecret,
		Resource: []string{resource}, DPoP: prover}
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: sent}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verify.JWT(tok.AccessToken, p.keys, verify.Options{Issuer: p.issuer, Audience: resource})
	if err != nil {
		t.Fatal(err)
	}
	if cnf, _ := claims["cnf"].(map[string]any); tok.TokenType != "DPoP" || cnf["jkt"] != prover.Thumbprint() {
		t.Fatalf("got token_type %q, cnf %v; want DPoP bound to %s", tok.TokenType, claims["cnf"], prover.Thumbprint())
	}
	if got := sent.String(); got != "400,200" {
		t.Errorf("token endpoint answers: got %s, want 400 (use_dpop_nonce), 200", got)
	}

	c := nethttp.NewClient(src, nil)
	for _, q := range []string{"a=1", "b=2"} {
		resp, err := c.Get(api.URL + "/v1/items?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello "+q {
			t.Errorf("GET ?%s: got %d %q", q, resp.StatusCode, body)
		}
	}
	if got := api.verdicts(); got != "use_dpop_nonce,ok,ok" {
		t.Errorf("API verdicts: got %s, want use_dpop_nonce once, then ok", got)
	}

	// A second Source (another resource-less cache, same key and server)
	// starts with the remembered nonce: one token request.
	sent2 := &statuses{}
	if _, err := (&tokenhelper.Client{Transport: sent2}).Token(ctx, cfg); err != nil || sent2.String() != "200" {
		t.Errorf("with the remembered nonce: got %v after %s, want a token after one 200", err, sent2)
	}

	// Discovered from the issuer, whose metadata lists the DPoP
	// algorithms: ES256 is among them.
	byIssuer := cfg
	byIssuer.TokenURL, byIssuer.Issuer = "", p.issuer
	if tok, err := (&tokenhelper.Client{Transport: nethttp.New(nil)}).Token(ctx, byIssuer); err != nil || tok.TokenType != "DPoP" {
		t.Errorf("with ISSUER: got %v, %v; want a DPoP token", tok, err)
	}

	// The same client without a proof: refused by the provider.
	noKey := cfg
	noKey.DPoP = nil
	_, err = (&tokenhelper.Client{Transport: nethttp.New(nil)}).Token(ctx, noKey)
	var e *tokenhelper.Error
	if !errors.As(err, &e) || e.Code != "invalid_grant" {
		// Its description is generic ("grant request is invalid"); the
		// reason, "DPoP proof JWT not provided", stays in its logs.
		t.Errorf("without a proof: got %v, want invalid_grant", err)
	}

	// The bound token copied out and used as a bearer token, or with a
	// proof by another key: refused by the API.
	other, _ := dpop.GenerateProver()
	for name, c := range map[string]*http.Client{
		"bearer":    {Transport: bearerOnly{tok.AccessToken}},
		"other key": nethttp.NewClient(onlyToken{tok}, nil),
	} {
		if name == "other key" {
			c.Transport.(*nethttp.BearerTransport).DPoP = other
		}
		resp, err := c.Get(api.URL + "/v1/items")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: got %d, want 401", name, resp.StatusCode)
		}
	}
	if got := api.verdicts(); !strings.HasSuffix(got, ",ok,ok,invalid_token,invalid_dpop_proof") && !strings.HasSuffix(got, ",ok,ok,invalid_dpop_proof,invalid_token") {
		t.Errorf("API verdicts: got %s, want invalid_token (bearer) and invalid_dpop_proof (other key) last", got)
	}
}

// bearerOnly sends a token as curl -H "Authorization: Bearer ..." would.
type bearerOnly struct{ token string }

func (b bearerOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// onlyToken is a TokenSource holding one token (a thief's).
type onlyToken struct{ tok *tokenhelper.Token }

func (o onlyToken) Token(context.Context) (*tokenhelper.Token, error) { return o.tok, nil }
func (o onlyToken) Invalidate(context.Context, *tokenhelper.Token)    {}

// TestCommandDPoPAtOIDCProvider: with TOKENHELPER_DPOP=on, `tokenhelper
// token` gets a DPoP-bound token from oidc-provider (nonce included) but
// refuses to print it alone (exit 2, nothing on stdout); with --url it
// prints the Authorization: DPoP and DPoP lines of one request, which an
// API checking the proof accepts (after asking for its nonce, given back
// with --dpop-nonce); the next invocation takes the token from the cache
// with the same key (kept 0600 in the cache directory). Without DPOP the
// same client is refused by the provider (exit 3).
func TestCommandDPoPAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	api := newBoundAPI(t, p)
	bin := buildCommand(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"TOKENHELPER_TOKEN_URL=" + p.issuer + "/token", "TOKENHELPER_CLIENT_ID=" + clientID + "-dpop",
		"TOKENHELPER_CLIENT_SECRET=" + clientSecret, "TOKENHELPER_RESOURCE=" + resource}
	run := func(extra []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(slices.Clone(env), extra...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		var ee *exec.ExitError
		if err := cmd.Run(); err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if strings.Contains(out.String()+errOut.String(), clientSecret) {
			t.Errorf("%v: the client secret is in the output", args)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	on := []string{"TOKENHELPER_DPOP=on"}

	code, out, errOut := run(on, "token", "-v")
	if code != 2 || out != "" || !strings.Contains(errOut, "the token is DPoP-bound (RFC 9449): alone it is refused") || !strings.Contains(errOut, "HTTP 400") {
		t.Fatalf("token with DPOP on: got %d %q %q, want 2, nothing on stdout, after a use_dpop_nonce 400", code, out, errOut)
	}
	call := func(headers string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", api.URL+"/v1/items?x=1", strings.NewReader("{}"))
		for _, line := range strings.Split(strings.TrimSpace(headers), "\n") {
			k, v, _ := strings.Cut(line, ": ")
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	url := api.URL + "/v1/items?x=1"
	code, out, errOut = run(on, "token", "-v", "--method", "POST", "--url", url)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "Authorization: DPoP ey") || !strings.Contains(out, "\nDPoP: ey") || !strings.Contains(errOut, "token from the cache") {
		t.Fatalf("token --url: got %d %q %q, want the two lines, the token from the cache", code, out, errOut)
	}
	resp := call(out)
	if resp.StatusCode != 401 || resp.Header.Get("DPoP-Nonce") != apiNonce {
		t.Fatalf("first call: got %d, nonce %q; want the API's use_dpop_nonce", resp.StatusCode, resp.Header.Get("DPoP-Nonce"))
	}
	_, out, _ = run(on, "token", "--method", "POST", "--url", url, "--dpop-nonce", apiNonce)
	if resp := call(out); resp.StatusCode != 200 {
		t.Errorf("with the nonce: got %d, want 200", resp.StatusCode)
	}
	if resp := call(out); resp.StatusCode != 401 {
		t.Errorf("the same proof again: got %d, want 401 (a replay)", resp.StatusCode)
	}
	_, out2, _ := run(on, "token", "--method", "GET", "--url", url, "--dpop-nonce", apiNonce)
	if resp := call(out2); resp.StatusCode != 401 {
		t.Errorf("a GET proof for a POST: got %d, want 401", resp.StatusCode)
	}
	if got := api.verdicts(); got != "use_dpop_nonce,ok,invalid_dpop_proof,invalid_dpop_proof" {
		t.Errorf("API verdicts: got %s", got)
	}
	fi, err := os.Stat(filepath.Join(home, "cache", "tokenhelper", "dpop.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file: got %v, %v; want 0600", fi, err)
	}
	if code, out, errOut := run(nil, "token", "--no-cache"); code != 3 || out != "" || !strings.Contains(errOut, "invalid_grant") {
		t.Errorf("without DPOP: got %d %q %q, want 3 invalid_grant", code, out, errOut)
	}
}
