//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
