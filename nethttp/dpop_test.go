package nethttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// dpopServer is a token endpoint (/token) and an API (/api/...) that
// both demand DPoP proofs carrying their current nonce, as RFC 9449 8
// and 9 describe: the token endpoint binds its tokens to the proof's key
// (token_type DPoP), the API accepts a token only with a proof by that
// key for this request. It records what it saw.
type dpopServer struct {
	*httptest.Server
	checker dpop.Checker
	nonce   string // the nonce both demand; "" demands none

	mu        sync.Mutex
	tokenReqs []string // per token request: "ok", or why it was refused
	apiReqs   []string // per API request: "ok", or why it was refused
	bound     map[string]string
}

func newDPoPServer(t *testing.T, nonce string) *dpopServer {
	s := &dpopServer{nonce: nonce, bound: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *dpopServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	url := s.URL + r.URL.Path
	if r.URL.Path == "/token" {
		p, err := s.checker.Check(r.Header.Get("DPoP"), r.Method, url, "")
		switch {
		case err != nil:
			s.tokenReqs = append(s.tokenReqs, "no valid proof")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_dpop_proof"}`)
		case p.Nonce != s.nonce:
			s.tokenReqs = append(s.tokenReqs, "nonce "+p.Nonce)
			w.Header().Set("DPoP-Nonce", s.nonce)
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"use_dpop_nonce"}`)
		default:
			s.tokenReqs = append(s.tokenReqs, "ok")
			tok := fmt.Sprintf("bound-%d", len(s.tokenReqs))
			s.bound[tok] = p.JKT
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"DPoP","expires_in":3600}`, tok)
		}
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
	jkt, known := s.bound[tok]
	p, err := s.checker.Check(r.Header.Get("DPoP"), r.Method, url, tok)
	switch {
	case !ok || !known:
		s.apiReqs = append(s.apiReqs, "not a DPoP token")
		w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
	case err != nil || p.JKT != jkt:
		s.apiReqs = append(s.apiReqs, "no valid proof")
		w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`)
	case p.Nonce != s.nonce:
		s.apiReqs = append(s.apiReqs, "nonce "+p.Nonce)
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
		w.Header().Set("DPoP-Nonce", s.nonce)
	default:
		s.apiReqs = append(s.apiReqs, "ok")
		body, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]string{"body": string(body), "query": r.URL.RawQuery})
		return
	}
	w.WriteHeader(401)
}

func (s *dpopServer) seen() (token, api string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tokenReqs, ","), strings.Join(s.apiReqs, ",")
}

func dpopSource(t *testing.T, s *dpopServer, p tokenhelper.DPoPProver) *tokenhelper.Source {
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		TokenURL: s.URL + "/token", ClientID: "c", ClientSecret: "a-client-secret-1", DPoP: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// A Source with Config.DPoP gets a bound token after the token endpoint's
// use_dpop_nonce, and NewClient uses it with a proof per request, after
// the API's own use_dpop_nonce: each nonce costs one request, once.
func TestNewClientDPoPWithNonces(t *testing.T) {
	s := newDPoPServer(t, "n-1")
	prover, err := dpop.GenerateProver()
	if err != nil {
		t.Fatal(err)
	}
	c := nethttp.NewClient(dpopSource(t, s, prover), nil)
	for i, want := range []string{"q=1", "q=2"} {
		resp, err := c.Post(s.URL+"/api/x?"+want, "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || got["body"] != "hello" || got["query"] != want {
			t.Fatalf("call %d: got %d %v, want 200 with the body and query %s", i, resp.StatusCode, got, want)
		}
	}
	tokenReqs, apiReqs := s.seen()
	if want := "nonce ,ok"; tokenReqs != want {
		t.Errorf("token requests: got %q, want %q", tokenReqs, want)
	}
	// The API's nonce is its own (RFC 9449 keeps a resource server's apart
	// from the authorization server's, even on one origin as here): the
	// first call learns it.
	if want := "nonce ,ok,ok"; apiReqs != want {
		t.Errorf("API requests: got %q, want %q", apiReqs, want)
	}

	// The API rotates its nonce: one more refusal, the same token.
	s.mu.Lock()
	s.nonce = "n-2"
	s.mu.Unlock()
	resp, err := c.Get(s.URL + "/api/y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tokenReqs, apiReqs = s.seen()
	if resp.StatusCode != 200 || tokenReqs != "nonce ,ok" || apiReqs != "nonce ,ok,ok,nonce n-1,ok" {
		t.Errorf("after a new nonce: got %d, token %q, API %q; want 200, no new token, one refusal", resp.StatusCode, tokenReqs, apiReqs)
	}
}

// A server that keeps answering use_dpop_nonce with the nonce the client
// already sent is not asked again and again.
func TestDPoPNonceRetriedOnce(t *testing.T) {
	s := newDPoPServer(t, "n-1")
	s.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.tokenReqs = append(s.tokenReqs, "x")
		s.mu.Unlock()
		w.Header().Set("DPoP-Nonce", "always")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"use_dpop_nonce"}`)
	})
	prover, _ := dpop.GenerateProver()
	_, err := (&tokenhelper.Client{Transport: nethttp.New(nil)}).Token(context.Background(), tokenhelper.Config{
		TokenURL: s.URL + "/token", ClientID: "c", ClientSecret: "a-client-secret-1", DPoP: prover})
	var e *tokenhelper.Error
	if tokenReqs, _ := s.seen(); !errors.As(err, &e) || e.Code != "use_dpop_nonce" || tokenReqs != "x,x" {
		t.Errorf("got %v after %q, want use_dpop_nonce after 2 requests", err, tokenReqs)
	}
}

// Without the prover a bound token is not sent at all, and a proof by
// another key is refused by the API: the token alone is worth nothing.
func TestBoundTokenNeedsItsKey(t *testing.T) {
	s := newDPoPServer(t, "")
	prover, _ := dpop.GenerateProver()
	src := dpopSource(t, s, prover)
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	bare := &http.Client{Transport: &nethttp.BearerTransport{Source: src}}
	_, err := bare.Get(s.URL + "/api/x")
	var e *tokenhelper.Error
	if !errors.As(err, &e) || e.Field != "DPoP" {
		t.Errorf("without a prover: got %v, want a DPoP config error", err)
	}
	other, _ := dpop.GenerateProver()
	thief := &http.Client{Transport: &nethttp.BearerTransport{Source: src, DPoP: other}}
	resp, err := thief.Get(s.URL + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, api := s.seen(); resp.StatusCode != 401 || api != "no valid proof,no valid proof" {
		t.Errorf("another key's proof: got %d, API %q; want 401 no valid proof (twice: the 401 renews the token once, as for any token)", resp.StatusCode, api)
	}
}

// ExampleNewClient_dPoP is the README's DPoP snippet: compiled, not run
// (it names a provider that is not there).
func ExampleNewClient_dPoP() {
	key, err := dpop.GenerateProver() // a key of this process; dpop.ParsePEM for a kept one
	if err != nil {
		panic(err)
	}
	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	src, err := tokenhelper.NewSource(client, tokenhelper.Config{
		TokenURL: "https://idp.example.com/oauth2/token", ClientID: "my-client",
		ClientSecret: "…", DPoP: key,
	})
	if err != nil {
		panic(err)
	}
	api := nethttp.NewClient(src, nil) // Authorization: DPoP <token>, DPoP: <proof> on each request
	_ = api
}

// NewClient takes the key of a worker Source too (WorkerConfig.DPoP).
func TestNewClientDPoPWorkerSource(t *testing.T) {
	s := newDPoPServer(t, "")
	prover, _ := dpop.GenerateProver()
	src, err := tokenhelper.NewWorkerSource(&tokenhelper.Client{Transport: nethttp.New(nil)},
		tokenhelper.WorkerConfig{URL: s.URL + "/token", DPoP: prover})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := nethttp.NewClient(src, nil).Get(s.URL + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tokenReqs, api := s.seen(); resp.StatusCode != 200 || tokenReqs != "ok" || api != "ok" {
		t.Errorf("got %d, token %q, API %q; want 200 after one bound token", resp.StatusCode, tokenReqs, api)
	}
}
