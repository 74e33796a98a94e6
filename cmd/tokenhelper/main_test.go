package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

const (
	secret   = demoprovider.DefaultClientSecret
	password = demoprovider.DefaultPassword
)

// invocation is one in-process run of the command.
type invocation struct {
	code           int
	stdout, stderr string
}

// runIn runs the command in this process with env as its whole
// environment and cacheDir as its cache.
func runIn(t *testing.T, env map[string]string, cacheDir, stdin string, args ...string) invocation {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(stdin),
		stdout: &out, stderr: &errOut, cacheDir: cacheDir}
	code := c.run(context.Background(), args)
	inv := invocation{code, out.String(), errOut.String()}
	for _, s := range []string{secret, password} {
		if strings.Contains(inv.stdout+inv.stderr, s) {
			t.Errorf("%v: a secret is in the output", args)
		}
	}
	return inv
}

// demoEnv is the environment of the demo provider's profile p at url.
func demoEnv(url, p string) map[string]string {
	return map[string]string{
		"TOKENHELPER_PROVIDER":      p,
		"TOKENHELPER_TOKEN_URL":     url + demoprovider.Path(p),
		"TOKENHELPER_CLIENT_ID":     demoprovider.DefaultClientID,
		"TOKENHELPER_CLIENT_SECRET": secret,
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"nothing", nil, nil, "tokenhelper: config: TOKENHELPER_PROVIDER is required"},
		{"client id", map[string]string{"TOKENHELPER_PROVIDER": "aluma"}, nil, "tokenhelper: config: TOKENHELPER_CLIENT_ID is required"},
		{"profile", map[string]string{"TOKENHELPER_RIPPLE_PROVIDER": "alphaus-ripple"}, []string{"--profile", "ripple"}, "tokenhelper: config: TOKENHELPER_RIPPLE_CLIENT_ID is required"},
		{"profile from env", map[string]string{"TOKENHELPER_PROFILE": "wave", "TOKENHELPER_WAVE_PROVIDER": "alphaus-wave", "TOKENHELPER_WAVE_CLIENT_ID": "c"}, nil, "tokenhelper: config: TOKENHELPER_WAVE_CLIENT_SECRET is required"},
		{"password", map[string]string{"TOKENHELPER_PROVIDER": "alphaus-wave", "TOKENHELPER_CLIENT_ID": "c", "TOKENHELPER_CLIENT_SECRET": "s", "TOKENHELPER_GRANT_TYPE": "password", "TOKENHELPER_USERNAME": "u"}, nil, "tokenhelper: config: TOKENHELPER_PASSWORD is required"},
		{"encoding", map[string]string{"TOKENHELPER_TOKEN_URL": "https://x.example/t", "TOKENHELPER_ENCODING": "xml", "TOKENHELPER_CLIENT_ID": "c"}, nil, "tokenhelper: config: TOKENHELPER_ENCODING must be"},
		{"unknown provider", map[string]string{"TOKENHELPER_PROVIDER": "nope", "TOKENHELPER_CLIENT_ID": "c"}, nil, `tokenhelper: config: TOKENHELPER_PROVIDER: unknown provider "nope"`},
		{"flag", nil, []string{"--provider", "alluvial", "--client-id", "c", "--audience", ""}, "tokenhelper: config: TOKENHELPER_CLIENT_SECRET is required"},
		{"http", map[string]string{"TOKENHELPER_TOKEN_URL": "http://example.com/t", "TOKENHELPER_CLIENT_ID": "c"}, nil, "tokenhelper: config: TOKENHELPER_TOKEN_URL: http is only allowed"},
		{"worker url", map[string]string{"TOKENHELPER_WORKER": "http://example.com/token"}, nil, "tokenhelper: config: TOKENHELPER_WORKER must be"},
		{"worker and provider", map[string]string{"TOKENHELPER_WORKER": "https://w.example/token", "TOKENHELPER_PROVIDER": "aluma"}, nil, "tokenhelper: config: TOKENHELPER_WORKER is set with a provider"},
		{"secret file", nil, []string{"--provider", "aluma", "--client-secret-file", "/nonexistent/secret"}, "tokenhelper: config: TOKENHELPER_CLIENT_SECRET is to come from --client-secret-file"},
		{"bad profile", nil, []string{"--profile", "a/b"}, "tokenhelper: config: TOKENHELPER_PROFILE must be"},
		{"relative resource", map[string]string{"TOKENHELPER_TOKEN_URL": "https://x.example/t", "TOKENHELPER_CLIENT_ID": "c", "TOKENHELPER_RESOURCE": "https://api.example/ relative"}, nil, "tokenhelper: config: TOKENHELPER_RESOURCE: each must be an absolute URI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runIn(t, tc.env, t.TempDir(), "", append([]string{"token"}, tc.args...)...)
			if got.code != exitConfig || got.stdout != "" || !strings.HasPrefix(got.stderr, tc.want) || strings.Count(got.stderr, "\n") != 1 {
				t.Errorf("got %d %q %q, want 2, nothing on stdout and one line starting %q", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		kind error
		want int
	}{
		{tokenhelper.ErrConfig, 2}, {tokenhelper.ErrRejected, 3}, {tokenhelper.ErrNetwork, 4},
		{tokenhelper.ErrTimeout, 4}, {tokenhelper.ErrBadResponse, 5}, {os.ErrNotExist, 1},
	} {
		err := error(&tokenhelper.Error{Kind: tc.kind})
		if tc.kind == os.ErrNotExist {
			err = tc.kind
		}
		if got := exitCode(err); got != tc.want {
			t.Errorf("%v: got %d, want %d", tc.kind, got, tc.want)
		}
	}
}

func TestTokenOutputs(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	env := demoEnv(srv.URL, "alphaus-ripple")
	dir := filepath.Join(t.TempDir(), "cache")

	plain := runIn(t, env, dir, "", "token")
	if plain.code != 0 || strings.Count(plain.stdout, "\n") != 1 || strings.Count(plain.stdout, ".") != 2 || plain.stderr != "" {
		t.Fatalf("token: got %d %q %q, want 0, one JWT line, nothing on stderr", plain.code, plain.stdout, plain.stderr)
	}
	at := strings.TrimSpace(plain.stdout)
	if h := runIn(t, env, dir, "", "token", "--header"); h.stdout != "Authorization: Bearer "+at+"\n" {
		t.Errorf("--header: got %q", h.stdout)
	}
	var j map[string]any
	masked := runIn(t, env, dir, "", "token", "--json")
	if err := json.Unmarshal([]byte(masked.stdout), &j); err != nil {
		t.Fatal(err)
	}
	if j["access_token"] != at || j["refresh_token"] != tokenhelper.Mask || j["id_token"] != tokenhelper.Mask || j["token_type"] != "Bearer" || j["expires_in"].(float64) < 86000 {
		t.Errorf("--json: got %v", j)
	}
	revealed := runIn(t, env, dir, "", "token", "--json", "--reveal")
	json.Unmarshal([]byte(revealed.stdout), &j)
	if rt, _ := j["refresh_token"].(string); rt == tokenhelper.Mask || rt == "" {
		t.Errorf("--json --reveal: refresh_token %q, want the token", rt)
	}
	if n := demo.Count(); n != 1 {
		t.Errorf("requests for four invocations: got %d, want 1 (the cache)", n)
	}
	v := runIn(t, env, dir, "", "token", "-v")
	if !strings.Contains(v.stderr, "token from the cache") || !strings.Contains(v.stderr, "cache "+dir) {
		t.Errorf("-v: got %q", v.stderr)
	}
	nc := runIn(t, env, dir, "", "token", "--no-cache", "-v")
	if nc.code != 0 || !strings.Contains(nc.stderr, "token from 1 request(s)") || demo.Count() != 2 {
		t.Errorf("--no-cache: got %d %q after %d requests", nc.code, nc.stderr, demo.Count())
	}
}

func TestSecretsFromFiles(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	dir := t.TempDir()
	sf, pf := filepath.Join(dir, "secret"), filepath.Join(dir, "password")
	os.WriteFile(sf, []byte(secret+"\n"), 0o600)
	os.WriteFile(pf, []byte(password+"\n"), 0o600)
	got := runIn(t, nil, filepath.Join(dir, "cache"), "", "token", "--provider", "alphaus-wave",
		"--token-url", srv.URL+demoprovider.Path("alphaus-wave"), "--client-id", demoprovider.DefaultClientID,
		"--client-secret-file", sf, "--grant-type", "password", "--username", demoprovider.DefaultUsername, "--password-file", pf)
	if got.code != 0 {
		t.Fatalf("got %d %q", got.code, got.stderr)
	}
	if r := demo.Requests(); len(r) != 1 || r[0].Fields["password"] != demoprovider.RedactedOK || r[0].Fields["client_secret"] != demoprovider.RedactedOK {
		t.Errorf("the provider received %+v, want the right secret and password", r)
	}
}

func TestRequestMasksSecrets(t *testing.T) {
	env := map[string]string{"TOKENHELPER_PROVIDER": "alluvial", "TOKENHELPER_CLIENT_ID": "c", "TOKENHELPER_CLIENT_SECRET": secret}
	got := runIn(t, env, t.TempDir(), "", "request")
	want := "POST https://auth.alluvial.finance/oauth/token\nAccept: application/json\nContent-Type: application/json\n\n" +
		`{"grant_type":"client_credentials","client_id":"c","client_secret":"****","audience":"https://api.alluvial.finance"}` + "\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("request: got %d\n%s\nwant\n%s", got.code, got.stdout, want)
	}
	curl := runIn(t, env, t.TempDir(), "", "request", "--curl")
	if !strings.HasPrefix(curl.stdout, "curl -X POST 'https://auth.alluvial.finance/oauth/token'") || !strings.Contains(curl.stdout, `"client_secret":"****"`) {
		t.Errorf("request --curl: got %s", curl.stdout)
	}
	w := runIn(t, map[string]string{"TOKENHELPER_WORKER": "https://w.example/token", "TOKENHELPER_ORIGIN": "https://app.example", "TOKENHELPER_CALLER_TOKEN": "caller-jwt-value"}, t.TempDir(), "", "request")
	if w.code != 0 || strings.Contains(w.stdout, "caller-jwt-value") || !strings.Contains(w.stdout, "Origin: https://app.example") || !strings.Contains(w.stdout, "Authorization: ****") {
		t.Errorf("worker request: got %d %q", w.code, w.stdout)
	}
}

func TestDecode(t *testing.T) {
	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	tok := strings.TrimSpace(runIn(t, demoEnv(srv.URL, "aluma"), t.TempDir(), "", "token").stdout)
	for name, inv := range map[string]invocation{
		"argument": runIn(t, nil, "", "", "decode", tok),
		"stdin":    runIn(t, nil, "", "Authorization: Bearer "+tok+"\n", "decode"),
	} {
		if inv.code != 0 || !strings.Contains(inv.stdout, `"alg": "EdDSA"`) || !strings.Contains(inv.stdout, `"provider": "aluma"`) ||
			!strings.Contains(inv.stdout, "expires: ") || !strings.Contains(inv.stdout, "(in 2") || !strings.Contains(inv.stdout, "not verified") {
			t.Errorf("decode from %s: got %d\n%s%s", name, inv.code, inv.stdout, inv.stderr)
		}
	}
	bad := runIn(t, nil, "", "", "decode", "a.b")
	if bad.code != exitOther || bad.stdout != "" || !strings.Contains(bad.stderr, "Invalid token specified") {
		t.Errorf("decode of a.b: got %d %q %q", bad.code, bad.stdout, bad.stderr)
	}
}

func TestProvidersHelpLogout(t *testing.T) {
	p := runIn(t, nil, "", "", "providers")
	for _, id := range demoprovider.Profiles() {
		if !strings.Contains(p.stdout, id) {
			t.Errorf("providers: %s missing from\n%s", id, p.stdout)
		}
	}
	h := runIn(t, nil, "", "", "help")
	for _, s := range []string{"TOKENHELPER_CLIENT_SECRET", "Exit status", "  3  refused", "only at\nthat worker's /api/"} {
		if h.code != 0 || !strings.Contains(h.stdout, s) {
			t.Errorf("help: %q missing", s)
		}
	}
	if th := runIn(t, nil, "", "", "help", "token"); th.code != 0 || !strings.Contains(th.stdout, "-client-secret-file") {
		t.Errorf("help token: got %d %q", th.code, th.stdout)
	}
	if u := runIn(t, nil, "", "", "nope"); u.code != exitConfig {
		t.Errorf("unknown command: got %d", u.code)
	}
	dir := filepath.Join(t.TempDir(), "cache")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "th2-x.json"), []byte("{}"), 0o600)
	if l := runIn(t, nil, dir, "", "logout"); l.code != 0 || !strings.Contains(l.stderr, "1 cached tokens") {
		t.Errorf("logout: got %d %q", l.code, l.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after logout the cache is still there: %v", err)
	}
	if d := runIn(t, nil, dir, "", "cache", "dir"); d.stdout != dir+"\n" {
		t.Errorf("cache dir: got %q", d.stdout)
	}
}

// TestResource: --resource is repeatable and TOKENHELPER_RESOURCE is
// space-separated, the flags replacing the variable; each is one
// resource parameter of the request, and the token's aud at a provider
// that takes them; tokens for another resource are not the cached ones.
func TestResource(t *testing.T) {
	a, b := "https://api.example.com/", "https://files.example.com/v1"
	env := map[string]string{"TOKENHELPER_TOKEN_URL": "https://as.example/token", "TOKENHELPER_CLIENT_ID": "c", "TOKENHELPER_RESOURCE": "https://env.example/ " + a}
	curl := runIn(t, env, "", "", "request", "--curl", "--resource", a, "--resource", b)
	if curl.code != 0 || !strings.Contains(curl.stdout, "--data-urlencode 'resource="+a+"' \\\n  --data-urlencode 'resource="+b+"'") || strings.Contains(curl.stdout, "env.example") {
		t.Errorf("request --curl with two --resource: got %d\n%s%s", curl.code, curl.stdout, curl.stderr)
	}
	fromEnv := runIn(t, env, "", "", "request")
	if !strings.HasSuffix(fromEnv.stdout, "&resource=https%3A%2F%2Fenv.example%2F&resource=https%3A%2F%2Fapi.example.com%2F\n") {
		t.Errorf("request with TOKENHELPER_RESOURCE: got %q", fromEnv.stdout)
	}

	demo := demoprovider.New(demoprovider.Options{})
	srv := httptest.NewServer(demo)
	defer srv.Close()
	custom := demoEnv(srv.URL, "custom")
	dir := t.TempDir()
	for i, res := range []string{a, b, a} {
		got := runIn(t, custom, dir, "", "token", "--resource", res)
		in, err := tokenhelper.Inspect(strings.TrimSpace(got.stdout))
		if got.code != 0 || err != nil {
			t.Fatalf("token --resource %s: got %d %q %v", res, got.code, got.stderr, err)
		}
		if aud := in.Claims["aud"]; aud != res {
			t.Errorf("token --resource %s: aud %v", res, aud)
		}
		if want := min(i+1, 2); demo.Count() != want {
			t.Errorf("after token --resource %s: %d requests, want %d (one per resource, then the cache)", res, demo.Count(), want)
		}
	}
}
