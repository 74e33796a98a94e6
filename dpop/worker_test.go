package dpop_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/internal/demoapi"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
	"github.com/tokenhelper/tokenhelper/worker"
)

const origin = "https://app.example.com"

// TestGoCallerThroughAWorker is a Go program with its own DPoP key
// getting a bound token from a Worker with DPOP=required and calling its
// /api/ with proofs, while another key's proofs are refused.
func TestGoCallerThroughAWorker(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	t.Cleanup(provider.Close)
	keys, err := verify.ParseJWKS(demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	api := &demoapi.API{Keys: keys}
	upstream := httptest.NewServer(api)
	t.Cleanup(upstream.Close)
	env := map[string]string{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   demoprovider.DefaultClientSecret,
		worker.VarAllowedOrigins: origin,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     "test-signing-key-0123456789abcdefghijklmnopqrstuv",
		worker.VarUpstream:       upstream.URL + "/v1",
		worker.VarDPoP:           worker.DPoPRequired,
	}
	h := &worker.Handler{Getenv: func(k string) string { return env[k] }, Transport: nethttp.New(nil)}
	w := httptest.NewServer(h)
	t.Cleanup(w.Close)

	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	call := func(p *dpop.Prover, src *tokenhelper.Source) int {
		t.Helper()
		hc := &http.Client{Transport: &nethttp.BearerTransport{Source: src, DPoP: p}}
		req, _ := http.NewRequestWithContext(context.Background(), "GET", w.URL+"/api/items?id=1", nil)
		req.Header.Set("Origin", origin)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	mine, _ := dpop.GenerateProver()
	src, err := tokenhelper.NewWorkerSource(client, tokenhelper.WorkerConfig{URL: w.URL + "/token", Origin: origin, DPoP: mine})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil || tok.Type() != "DPoP" {
		t.Fatalf("token: got %v %v, want a DPoP token", tok, err)
	}
	for i := range 3 {
		if got := call(mine, src); got != 200 {
			t.Fatalf("call %d with my key: got %d, want 200", i, got)
		}
	}
	// The same token with another key's proofs: refused before the API.
	thief, _ := dpop.GenerateProver()
	if got := call(thief, src); got != 401 {
		t.Errorf("my token with another key's proof: got %d, want 401", got)
	}
	if n := len(api.Received()); n != 3 {
		t.Errorf("API calls: got %d, want 3", n)
	}
	// Without a key, DPOP=required gives no token.
	bare, _ := tokenhelper.NewWorkerSource(client, tokenhelper.WorkerConfig{URL: w.URL + "/token", Origin: origin})
	if _, err := bare.Token(context.Background()); err == nil {
		t.Errorf("a token without a proof under DPOP=required: got one, want an error")
	}
	// Another key caches under another key name.
	other, _ := tokenhelper.NewWorkerSource(client, tokenhelper.WorkerConfig{URL: w.URL + "/token", Origin: origin, DPoP: thief})
	if other.Key() == src.Key() {
		t.Errorf("two DPoP keys share the cache key %s", src.Key())
	}
}
