//go:build unix

package workere2e_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestBareWorkerdCallerJWKSFetches: in bare workerd, whose Cache API
// stores nothing (as on *.workers.dev), the caller gate fetches the
// identity provider's JWKS once for the isolate, not once per request:
// 30 garbage caller JWTs, then 30 signed by an attacker's key under random
// kids (each one a kid the set does not hold, which may ask for the set
// again at most once a minute), then valid callers, make one fetch
// between them, counted at the loopback JWKS server.
func TestBareWorkerdCallerJWKSFetches(t *testing.T) {
	bundle := harness.WorkerBundle(t, false)
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	keys := testkeys.NewIssuer(t, callerIssuer, callerAudience)
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "gated", Src: bundle, Files: devrun.BundleFiles,
		Vars: callerEnv(keys, env{
			worker.VarProvider:       "alphaus-ripple",
			worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
			worker.VarClientID:       demoprovider.DefaultClientID,
			worker.VarClientSecret:   secret,
			worker.VarAllowedOrigins: testOrigin,
		})})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(caller string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", w.URL+"/token", nil)
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Authorization", "Bearer "+caller)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	for i := range 60 {
		tok := fmt.Sprintf("garbage-%d.e30.AAAA", i)
		if i >= 30 {
			forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": callerIssuer, "aud": callerAudience,
				"sub": "attacker", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
			forged.Header["kid"] = fmt.Sprintf("kid-%d-%d", i, now.UnixNano())
			tok, _ = forged.SignedString(attacker)
		}
		if got := post(tok); got != http.StatusUnauthorized {
			t.Fatalf("caller JWT %d (garbage or forged): got %d, want 401", i, got)
		}
	}
	afterAttack := keys.Fetches()
	for range 5 {
		if got := post(keys.Sign(time.Now(), nil)); got != 200 {
			t.Fatalf("valid caller: got %d, want 200", got)
		}
	}
	if afterAttack != 1 || keys.Fetches() != 1 {
		t.Errorf("JWKS fetches: %d after 30 garbage and 30 forged caller JWTs, %d after 5 valid callers; want 1 and 1", afterAttack, keys.Fetches())
	}
	t.Logf("JWKS fetches: %d for 30 garbage, 30 forged (random kids) and 5 valid caller JWTs", keys.Fetches())
}
