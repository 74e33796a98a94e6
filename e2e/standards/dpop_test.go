//go:build unix

package standardse2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	mu      sync.Mutex
	seen    []string
}

const apiNonce = "api-nonce-1"

func newBoundAPI(t *testing.T, p *oidcProvider) *boundAPI {
	a := &boundAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verdict := a.check(p, r)
		a.mu.Lock()
		a.seen = append(a.seen, verdict)
		a.mu.Unlock()
		switch verdict {
		case "ok":
			fmt.Fprintf(w, "hello %s", r.URL.RawQuery)
		case "use_dpop_nonce":
			w.Header().Set("DPoP-Nonce", apiNonce)
			fallthrough
		default:
			w.Header().Set("WWW-Authenticate", `DPoP algs="ES256 EdDSA", error="`+verdict+`"`)
			w.WriteHeader(401)
		}
	}))
	t.Cleanup(a.Close)
	return a
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
	case proof.Nonce != apiNonce:
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
