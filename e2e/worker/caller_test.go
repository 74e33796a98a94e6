//go:build unix

package workere2e_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestModuleCallerCredentials: the JS module in Chromium against the
// worker's caller gate in workerd. { worker, callerToken } sends the
// app's JWT as Bearer and gets a token; without it the gate answers 401
// invalid_token; { credentials: "include" } sends the page's cookies to
// the worker, whose answers allow credentials for the exact origin.
func TestModuleCallerCredentials(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	modulePrereqs(t, dist)
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	keys := testkeys.NewIssuer(t, callerIssuer, callerAudience)
	vars := callerEnv(keys, env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL,
	})
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	b := harness.NewTab(t, chromium)
	nc := captureNetwork(t, b)
	b.WaitLoaded(page.URL + "/web/")
	jwt := keys.Sign(time.Now(), nil)
	call := func(opts string) map[string]any {
		t.Helper()
		out := harness.Eval[string](b, fmt.Sprintf(`(async () => {
			document.cookie = "session=cookie-for-the-worker; path=/";
			const th = await (await import("/web/tokenhelper.mjs")).load();
			try {
				const src = th.createTokenSource({ worker: %q, ...%s });
				const tok = await src.getToken();
				return JSON.stringify({ token: tok.access_token });
			} catch (e) { return JSON.stringify({ code: e.code, status: e.status }); }
		})()`, w.URL+"/token", opts))
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		return m
	}

	t.Run("callerToken", func(t *testing.T) {
		if m := call(fmt.Sprintf(`{ shareAcrossTabs: false, callerToken: async () => %q }`, jwt)); m["token"] == nil {
			t.Fatalf("got %v, want a token through the caller gate", m)
		}
	})
	t.Run("no callerToken: 401 invalid_token", func(t *testing.T) {
		if m := call(`{ shareAcrossTabs: false }`); m["code"] != "invalid_token" || m["status"] != float64(401) {
			t.Fatalf("got %v, want invalid_token 401", m)
		}
	})
	t.Run("credentials include sends the cookie", func(t *testing.T) {
		before := len(nc.requests("POST", w.URL+"/token"))
		if m := call(fmt.Sprintf(`{ shareAcrossTabs: false, credentials: "include", callerToken: () => %q }`, jwt)); m["token"] == nil {
			t.Fatalf("got %v, want a token (the worker allows credentials for its origin)", m)
		}
		posts := nc.requests("POST", w.URL+"/token")
		if len(posts) <= before || !strings.Contains(strings.ToLower(nc.headers(posts[len(posts)-1])), "cookie: session=cookie-for-the-worker") {
			t.Errorf("the POST with credentials include carried no cookie")
		}
		for _, e := range posts[:before] {
			if strings.Contains(strings.ToLower(nc.headers(e)), "cookie: session=") {
				t.Error("a POST without credentials include carried the page's cookie")
			}
		}
	})
}
