//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestParseFlags takes the defaults from the environment variables that
// ./build.sh dev read, and lets a flag override them.
func TestParseFlags(t *testing.T) {
	env := map[string]string{"DEV_HOST": "127.0.0.2", "DEMO_PORT": "1001", "DEV_PAGE_PORT": "1002"}
	c, err := parseFlags([]string{"-page-port", "1003", "-worker-dir", "w"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.host != "127.0.0.2" || c.demoPort != 1001 || c.pagePort != 1003 || c.workerPort != 8787 || c.inspPort != 9230 ||
		c.wrangler != filepath.Join("w", "node_modules", ".bin", "wrangler") || !c.worker {
		t.Errorf("got %+v", c)
	}
	env["DEV_WORKER_PORT"] = "http"
	if _, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "DEV_WORKER_PORT") {
		t.Errorf("a bad DEV_WORKER_PORT: %v", err)
	}
}

// TestCheckVars names the bad variable and never its value.
func TestCheckVars(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".dev.vars")
	os.WriteFile(path, []byte("TOKEN_PROVIDER=alphaus-ripple\nCLIENT_ID=demo-client\nALLOWED_ORIGINS=https://a.example/xyzzy-value\n"), 0o600)
	err := checkVars(path)
	if err == nil || !strings.Contains(err.Error(), "ALLOWED_ORIGINS") || strings.Contains(err.Error(), "xyzzy") {
		t.Errorf("checkVars = %v; want an error naming ALLOWED_ORIGINS without its value", err)
	}
}

// TestOrigins: -origins (or DEV_ALLOWED_ORIGINS) takes a comma list of
// origins and refuses anything else, naming it.
func TestOrigins(t *testing.T) {
	env := map[string]string{"DEV_ALLOWED_ORIGINS": "http://localhost:5173, https://app.example"}
	c, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || strings.Join(c.origins, " ") != "http://localhost:5173 https://app.example" {
		t.Errorf("from DEV_ALLOWED_ORIGINS: %v, %v", c, err)
	}
	if c, err = parseFlags([]string{"-origins", "http://127.0.0.1:3000"}, func(k string) string { return env[k] }, io.Discard); err != nil || len(c.origins) != 1 {
		t.Errorf("the flag over the variable: %v, %v", c, err)
	}
	for _, bad := range []string{"localhost:5173", "http://localhost:5173/", "http://localhost:5173/app", "ftp://x", "http://u@x", "*"} {
		if _, err := parseFlags([]string{"-origins", bad}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "not an origin") {
			t.Errorf("-origins %q: %v, want not an origin", bad, err)
		}
	}
}

// TestDevConfig derives, from the repository's own worker/wrangler.jsonc,
// a configuration without the custom build, its main an absolute path to
// the same file, everything else kept, .dev.vars linked beside it.
func TestDevConfig(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(filepath.Join("..", "..", "..", "worker", "wrangler.jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), orig, 0o644)
	os.WriteFile(filepath.Join(dir, ".dev.vars"), []byte("A=1\n"), 0o600)
	path, err := devConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var cfg map[string]any
	if err := json.Unmarshal(stripJSONC(b), &cfg); err != nil {
		t.Fatalf("the derived configuration is not JSON: %v\n%s", err, b)
	}
	if _, ok := cfg["build"]; ok {
		t.Error("the derived configuration keeps the custom build")
	}
	if main, _ := cfg["main"].(string); main != filepath.Join(dir, "build", "worker.mjs") {
		t.Errorf("main %q, want %s", main, filepath.Join(dir, "build", "worker.mjs"))
	}
	if _, ok := cfg["ratelimits"].([]any); !ok || cfg["name"] != "tokenhelper" || cfg["compatibility_flags"] == nil {
		t.Errorf("the derived configuration lost settings: %v", cfg)
	}
	if v, err := os.ReadFile(filepath.Join(filepath.Dir(path), ".dev.vars")); err != nil || string(v) != "A=1\n" {
		t.Errorf(".dev.vars beside it: %q, %v", v, err)
	}
	if _, err := devConfig(dir); err != nil { // again, over the first
		t.Errorf("a second start: %v", err)
	}
}

// TestStripJSONC keeps strings whole and drops comments and trailing commas.
func TestStripJSONC(t *testing.T) {
	in := `{ // c
  "a": "x // not a comment /* nor this */", /* c */
  "b": ["\"q\"", 2,], "c": {"d": 1, },
}`
	var got map[string]any
	if err := json.Unmarshal(stripJSONC([]byte(in)), &got); err != nil {
		t.Fatalf("%v: %s", err, stripJSONC([]byte(in)))
	}
	if got["a"] != "x // not a comment /* nor this */" || fmt.Sprint(got["b"]) != `["q" 2]` || fmt.Sprint(got["c"]) != "map[d:1]" {
		t.Errorf("got %v", got)
	}
}

// TestBanner names each profile's token URL on the demo provider, and how
// to allow an app's origin.
func TestBanner(t *testing.T) {
	var b strings.Builder
	printBanner(&b, "http://p", "http://d:1", "http://a", "http://w", nil)
	for _, p := range demoprovider.Profiles() {
		if want := "http://d:1" + demoprovider.Path(p); !strings.Contains(b.String(), " "+want+"\n") {
			t.Errorf("the banner lacks %s:\n%s", want, b.String())
		}
	}
	if !strings.Contains(b.String(), "DEV_ALLOWED_ORIGINS=") {
		t.Errorf("the banner does not say how to allow another origin:\n%s", b.String())
	}
}
