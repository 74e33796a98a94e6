package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
)

// TestPrivateKeyJWTWithDiscovery: the command finds the token endpoint
// from the issuer's metadata, keeps the metadata in its cache directory,
// and authenticates with an assertion the server verifies with the
// client's public key, addressed to the issuer.
func TestPrivateKeyJWTWithDiscovery(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var metaFetches, tokens atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			metaFetches.Add(1)
			json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/oauth/token",
				"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}})
		case "/oauth/token":
			r.ParseForm()
			_, err := jwt.Parse(r.PostForm.Get("client_assertion"), func(*jwt.Token) (any, error) { return key.Public(), nil },
				jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(srv.URL), jwt.WithIssuer("c1"), jwt.WithSubject("c1"), jwt.WithExpirationRequired())
			if err != nil || r.PostForm.Get("client_assertion_type") != tokenhelper.ClientAssertionType {
				w.WriteHeader(401)
				w.Write([]byte(`{"error":"invalid_client"}`))
				return
			}
			tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"at-` + r.PostForm.Get("scope") + `","token_type":"Bearer","expires_in":300}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	pemText := testkeys.PEM(t, key)
	os.WriteFile(keyFile, []byte(pemText), 0o600)
	env := map[string]string{"TOKENHELPER_ISSUER": srv.URL, "TOKENHELPER_CLIENT_ID": "c1", "TOKENHELPER_AUTH": "private_key_jwt"}
	dir := t.TempDir()
	for i, scope := range []string{"a", "b"} {
		got := runIn(t, env, dir, "", "token", "--client-assertion-key-file", keyFile, "--scope", scope)
		if got.code != 0 || strings.TrimSpace(got.stdout) != "at-"+scope {
			t.Fatalf("run %d: %+v", i, got)
		}
	}
	if metaFetches.Load() != 1 || tokens.Load() != 2 {
		t.Errorf("metadata fetched %d times, tokens %d: want 1 (then from the cache directory) and 2", metaFetches.Load(), tokens.Load())
	}
	// request --curl shows the assertion masked, never the key.
	got := runIn(t, env, dir, "", "request", "--curl", "--client-assertion-key-file", keyFile)
	if got.code != 0 || !strings.Contains(got.stdout, "client_assertion=****") || !strings.Contains(got.stdout, srv.URL+"/oauth/token") {
		t.Errorf("request --curl: %+v", got)
	}
	for _, bad := range []struct{ key, want string }{
		{"", "TOKENHELPER_CLIENT_ASSERTION_KEY is required by private_key_jwt"},
		{"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "TOKENHELPER_CLIENT_ASSERTION_KEY must be a PEM private key"},
	} {
		env := map[string]string{"TOKENHELPER_ISSUER": srv.URL, "TOKENHELPER_CLIENT_ID": "c1", "TOKENHELPER_AUTH": "private_key_jwt", "TOKENHELPER_CLIENT_ASSERTION_KEY": bad.key}
		got := runIn(t, env, t.TempDir(), "", "token")
		if got.code != exitConfig || !strings.Contains(got.stderr, bad.want) || (bad.key != "" && strings.Contains(got.stderr, "AAAA")) {
			t.Errorf("key %q: %+v, want %q", bad.key, got, bad.want)
		}
	}
	// A client_secret_jwt secret too short for HS256 is refused before anything is sent.
	env = map[string]string{"TOKENHELPER_TOKEN_URL": srv.URL + "/oauth/token", "TOKENHELPER_CLIENT_ID": "c1", "TOKENHELPER_AUTH": "client_secret_jwt", "TOKENHELPER_CLIENT_SECRET": "short-secret"}
	if got := runIn(t, env, t.TempDir(), "", "token"); got.code != exitConfig || !strings.Contains(got.stderr, "TOKENHELPER_CLIENT_SECRET must be at least 32 bytes") {
		t.Errorf("short secret: %+v", got)
	}
}
