package tokenhelper

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example:8443/api?x=1", "t"); got != "proof GET https://nonce.example:8443/api?x=1 t" {
		t.Errorf("without a nonce: got %q", got)
	}
	if !NoteDPoPNonce("https://NONCE.example:8443/api", "", "n1", true) || NoteDPoPNonce("https://nonce.example:8443/other", "", "n1", true) {
		t.Error("NoteDPoPNonce without the proof: want a retry the first time, none for the same server's same nonce")
	}
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example:8443/api", "t"); got != "proof GET https://nonce.example:8443/api t nonce=n1" {
		t.Errorf("same server: got %q, want its nonce", got)
	}
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example/api", "t"); got != "proof GET https://nonce.example/api t" {
		t.Errorf("another port: got %q, want no nonce (another server's)", got)
	}
	// The authorization server on the same origin keeps a nonce of its own.
	if got, _ := DPoPProof(ctx, p, "POST", "https://nonce.example:8443/token", ""); got != "proof POST https://nonce.example:8443/token " {
		t.Errorf("the token endpoint on the resource server's origin: got %q, want no nonce (RFC 9449 keeps them apart)", got)
	}
	NoteDPoPNonce("https://nonce.example:8443/token", "", "as1", false)
	if got, _ := DPoPProof(ctx, p, "GET", "https://nonce.example:8443/api", "t"); !strings.HasSuffix(got, "nonce=n1") {
		t.Errorf("the resource server's nonce after the token endpoint's: got %q, want n1 still", got)
	}
}

// proofWith is an unsigned JWT whose payload carries nonce.
func proofWith(nonce string) string {
	b, _ := json.Marshal(map[string]string{"nonce": nonce})
	return "e30." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

// Two requests sent with the same proof nonce and refused at once with
// the same new one both retry: the proof decides, not what the other
// request already remembered.
func TestDPoPNonceRetryByProof(t *testing.T) {
	u := "https://both.example/token"
	old := proofWith("n0")
	if !NoteDPoPNonce(u, old, "n1", false) || !NoteDPoPNonce(u, old, "n1", false) {
		t.Error("the second of two requests refused with the same new nonce does not retry")
	}
	if NoteDPoPNonce(u, proofWith("n1"), "n1", false) {
		t.Error("a proof that carried the nonce is retried with it again")
	}
	if NoteDPoPNonce(u, old, "", false) || NoteDPoPNonce(u, old, strings.Repeat("n", maxNonce+1), false) {
		t.Error("no nonce, or an oversized one, is retried")
	}
}

func TestDPoPNonceChallenge(t *testing.T) {
	for v, want := range map[string]bool{
		`DPoP error="use_dpop_nonce"`:                         true,
		`dpop algs="ES256", error="use_dpop_nonce"`:           true,
		`Bearer realm="x", DPoP error="use_dpop_nonce"`:       true,
		`Bearer realm="x",DPoP error="use_dpop_nonce"`:        true,
		`Bearer error="use_dpop_nonce"`:                       false,
		`DPoP error="invalid_token"`:                          false,
		`Bearer realm="a DPoP thing", error="use_dpop_nonce"`: false,
		`NotDPoP error="use_dpop_nonce"`:                      false,
	} {
		if got := DPoPNonceChallenge(v); got != want {
			t.Errorf("%s: got %v, want %v", v, got, want)
		}
	}
	if !DPoPNonceChallenge(`Bearer realm="x"`, `DPoP error="use_dpop_nonce"`) {
		t.Error("the challenge in a second WWW-Authenticate value is missed")
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
