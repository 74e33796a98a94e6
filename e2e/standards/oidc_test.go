//go:build unix

// Package standardse2e tests tokenhelper against standard OAuth servers
// that no one here wrote, on loopback: panva's oidc-provider (npm,
// pinned in this folder's package-lock.json; `npm ci` here, or
// ./build.sh test). What they check that our demo provider cannot prove
// on its own: RFC 8707 resource indicators reach a server that acts on
// them, and such servers take form bodies only.
package standardse2e_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/nethttp"
	"github.com/tokenhelper/tokenhelper/verify"
)

const (
	clientID     = "e2e-client"                     // client_secret_post; e2e-client-basic: client_secret_basic
	clientSecret = demoprovider.DefaultClientSecret // one that ./build.sh test searches its logs for
	resource     = "https://api.example.com/"
	second       = "https://files.example.com/v1" // known too
	unknown      = "https://elsewhere.example.com/"
)

// oidcProvider is a running oidc-provider: its issuer (token endpoint
// issuer+"/token") and the keys that verify its access tokens.
type oidcProvider struct {
	issuer string
	keys   *verify.JWKS
}

// startOIDC runs server.mjs in node, skipping (failing when
// TOKENHELPER_E2E is set) when node or the npm packages are missing.
func startOIDC(t *testing.T) *oidcProvider {
	t.Helper()
	harness.SkipShort(t)
	dir := harness.Path("e2e", "standards")
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs)")
	}
	missing = append(missing, harness.MissingFiles(filepath.Join(dir, "node_modules"), "(cd e2e/standards && npm ci)", "oidc-provider/package.json")...)
	harness.Require(t, "oidc-provider", missing...)

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLIENT_ID="+clientID, "CLIENT_SECRET="+clientSecret, "RESOURCE="+resource+" "+second, "PORT=0",
		"CLIENT_JWKS="+clientKeys(t).jwks)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ready <- issuer
			}
		}
		close(ready)
	}()
	p := &oidcProvider{}
	select {
	case iss, ok := <-ready:
		if !ok {
			t.Fatalf("server.mjs ended before listening:\n%s", stderr.String())
		}
		p.issuer = iss
	case <-time.After(30 * time.Second):
		t.Fatalf("server.mjs not listening after 30 s:\n%s", stderr.String())
	}
	res, err := http.Get(p.issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if p.keys, err = verify.ParseJWKS(b); err != nil {
		t.Fatalf("the provider's JWKS: %v\n%s", err, b)
	}
	return p
}

// audience verifies an access token against the provider's keys and
// issuer, requiring aud to hold want.
func (p *oidcProvider) audience(t *testing.T, token, want string) {
	t.Helper()
	claims, err := verify.JWT(token, p.keys, verify.Options{Issuer: p.issuer, Audience: want})
	if err != nil {
		t.Fatalf("the access token does not verify with aud %s: %v", want, err)
	}
	t.Logf("access token from oidc-provider: aud %v, client_id %v", claims["aud"], claims["client_id"])
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCoreResourceAtOIDCProvider: the core's request, form-encoded, with
// Resource gets a JWT whose aud is that resource, with the client
// credentials in the body or in HTTP Basic; a resource the server does
// not know is its invalid_target, passed through; a multipart or JSON
// body is its invalid_request (the README's advice: custom providers
// want form).
func TestCoreResourceAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	cfg := tokenhelper.Config{Provider: "custom", TokenURL: p.issuer + "/token", Encoding: tokenhelper.EncodingForm,
		ClientID: clientID, ClientSecret: clientSecret, Resource: []string{resource}}

	for _, auth := range []tokenhelper.AuthStyle{tokenhelper.AuthInBody, tokenhelper.AuthBasic} {
		c := cfg
		if c.AuthStyle = auth; auth == tokenhelper.AuthBasic {
			c.ClientID += "-basic"
		}
		tok, err := client.Token(ctx, c)
		if err != nil {
			t.Fatalf("auth %v: %v", auth, err)
		}
		p.audience(t, tok.AccessToken, resource)
	}
	c := cfg
	c.Resource = []string{second}
	tok, err := client.Token(ctx, c)
	if err != nil {
		t.Fatalf("resource %s: %v", second, err)
	}
	p.audience(t, tok.AccessToken, second)

	refused := func(c tokenhelper.Config, code, desc string) {
		t.Helper()
		_, err := client.Token(ctx, c)
		var e *tokenhelper.Error
		if !errors.As(err, &e) || !errors.Is(err, tokenhelper.ErrRejected) || e.Code != code || e.Status != 400 || !strings.Contains(e.Description, desc) {
			t.Errorf("got %v, want %s (HTTP 400) %q", err, code, desc)
		}
		if err != nil && strings.Contains(err.Error(), clientSecret) {
			t.Error("the error holds the client secret")
		}
	}
	other := cfg
	other.Resource = []string{unknown}
	refused(other, "invalid_target", "resource indicator is missing, or unknown")
	for _, enc := range []tokenhelper.Encoding{tokenhelper.EncodingMultipart, tokenhelper.EncodingJSON} {
		c := cfg
		c.Encoding = enc
		refused(c, "invalid_request", "only application/x-www-form-urlencoded content-type bodies are supported")
	}
}

// TestCommandResourceAtOIDCProvider: `tokenhelper token --resource`
// (form, the custom default) prints a token whose aud is the resource,
// and TOKENHELPER_RESOURCE does the same; an unknown resource exits 3
// with the provider's invalid_target and its description on one line, as
// do two known ones (one a client_credentials token, it says);
// --encoding multipart and json exit 3 with its invalid_request.
func TestCommandResourceAtOIDCProvider(t *testing.T) {
	p := startOIDC(t)
	bin := buildCommand(t)
	home := t.TempDir()
	env := []string{"TOKENHELPER_TOKEN_URL=" + p.issuer + "/token", "TOKENHELPER_CLIENT_ID=" + clientID, "TOKENHELPER_CLIENT_SECRET=" + clientSecret}
	run := func(extraEnv []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append([]string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache")}, append(env, extraEnv...)...)
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

	code, out, errOut := run(nil, "token", "--no-cache", "--encoding", "form", "--resource", resource)
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("token --resource: got %d %q %q", code, out, errOut)
	}
	p.audience(t, strings.TrimSpace(out), resource)
	code, out, errOut = run([]string{"TOKENHELPER_RESOURCE=" + resource, "TOKENHELPER_AUTH=basic", "TOKENHELPER_CLIENT_ID=" + clientID + "-basic"}, "token", "--no-cache")
	if code != 0 {
		t.Fatalf("TOKENHELPER_RESOURCE, basic: got %d %q", code, errOut)
	}
	p.audience(t, strings.TrimSpace(out), resource)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--resource", unknown}, "tokenhelper: invalid_target (HTTP 400): resource indicator is missing, or unknown"},
		// Both flags reach the server, which takes one a token.
		{[]string{"--resource", resource, "--resource", second}, "tokenhelper: invalid_target (HTTP 400): only a single resource indicator value is supported for this grant type"},
		{[]string{"--resource", resource, "--encoding", "multipart"}, "tokenhelper: invalid_request (HTTP 400): only application/x-www-form-urlencoded content-type bodies are supported"},
		{[]string{"--resource", resource, "--encoding", "json"}, "tokenhelper: invalid_request (HTTP 400): only application/x-www-form-urlencoded content-type bodies are supported"},
	} {
		code, out, errOut := run(nil, append([]string{"token", "--no-cache"}, tc.args...)...)
		if code != 3 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("token %v: got %d %q %q, want 3 and one line starting %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

var binary struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// buildCommand builds cmd/tokenhelper once for the package's tests.
func buildCommand(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "tokenhelper-standards-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "tokenhelper")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary.path, "./cmd/tokenhelper")
		build.Dir = harness.Path()
		binary.out, binary.err = build.CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}
