package tokenhelper

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// keyProver is a DPoPProver of a fixed thumbprint that writes its
// arguments instead of signing.
type keyProver string

func (k keyProver) DPoPProof(_ context.Context, method, url, tok string) (string, error) {
	return "proof " + method + " " + url + " " + tok, nil
}
func (k keyProver) DPoPProofNonce(_ context.Context, method, url, tok, nonce string) (string, error) {
	return "proof " + method + " " + url + " " + tok + " nonce=" + nonce, nil
}
func (k keyProver) Thumbprint() string { return string(k) }

func TestConfigDPoP(t *testing.T) {
	custom := Config{TokenURL: "https://as.example/token", ClientID: "c"}
	with := custom
	with.DPoP = keyProver("key-1")
	other := custom
	other.DPoP = keyProver("key-2")
	if CacheKey(custom) == CacheKey(with) || CacheKey(with) == CacheKey(other) {
		t.Error("the cache key does not tell the DPoP key apart: a token bound to one key would be given to another")
	}
	_, err := Config{Provider: "aluma", ClientID: "c", ClientSecret: "s", DPoP: keyProver("k")}.Resolved()
	var e *Error
	if !errors.As(err, &e) || e.Field != "DPoP" {
		t.Errorf("a built-in profile with DPoP: got %v, want a DPoP config error", err)
	}
}

func TestDPoPNonceMemory(t *testing.T) {
	p := keyProver("k")
	ctx := context.Background()
	if got, _ := DPoPProof(ctx, p, "POST", "https://nonce.example:8443/token?x=1", ""); got != "proof POST https://nonce.example:8443/token?x=1 " {
		t.Errorf("without a nonce: got %q", got)
	}
	if !RememberDPoPNonce("https://NONCE.example:8443/token", "n1") || RememberDPoPNonce("https://nonce.example:8443/other", "n1") {
		t.Error("RememberDPoPNonce: want new the first time, not new for the same server's same nonce")
	}
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example:8443/api", "t"); got != "proof GET https://nonce.example:8443/api t nonce=n1" {
		t.Errorf("same server: got %q, want its nonce", got)
	}
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example/api", "t"); got != "proof GET https://nonce.example/api t" {
		t.Errorf("another port: got %q, want no nonce (another server's)", got)
	}
}

// algProver is a keyProver whose proofs name an algorithm.
type algProver struct{ keyProver }

func (algProver) Alg() string { return "EdDSA" }

// Discovered metadata that lists DPoP algorithms without the key's is a
// configuration error before any token request; one that lists none
// (the server may still take proofs) is not.
func TestConfigureDPoPAlgs(t *testing.T) {
	cfg := Config{Issuer: "https://as.example", ClientID: "c", DPoP: algProver{"k"}}
	m := &Metadata{Issuer: "https://as.example", TokenEndpoint: "https://as.example/token", DPoPAlgs: []string{"ES256"}}
	var e *Error
	if _, err := m.Configure(cfg); !errors.As(err, &e) || e.Field != "DPoP" || !strings.Contains(e.Description, "EdDSA") {
		t.Errorf("ES256 only: got %v, want a DPoP config error naming EdDSA", err)
	}
	for _, algs := range [][]string{nil, {"ES256", "EdDSA"}} {
		m.DPoPAlgs = algs
		if got, err := m.Configure(cfg); err != nil || got.TokenURL != m.TokenEndpoint {
			t.Errorf("algs %v: got %v, %v; want the token endpoint", algs, got.TokenURL, err)
		}
	}
}
