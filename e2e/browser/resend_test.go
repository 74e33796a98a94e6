//go:build !(js && wasm)

package browser_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

// TestNoResendOfUnreadableAnswer: in Chromium, a token POST to an endpoint
// that sends no CORS headers reaches it (multipart and urlencoded bodies
// need no preflight) but its answer is hidden; the module must not send it
// again: each resend is another token issued, or with the password grant
// another login attempt. A readable 503 is still retried.
func TestNoResendOfUnreadableAnswer(t *testing.T) {
	chromium, dist := prerequisites(t)
	page := serve(t, devserver.Handler(dist))
	var noCORS atomic.Int32
	blind := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			noCORS.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"hidden","token_type":"Bearer","expires_in":3600}`))
	}))
	var flaky atomic.Int32
	cors := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if flaky.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"temporarily_unavailable"}`))
			return
		}
		w.Write([]byte(`{"access_token":"readable","token_type":"Bearer","expires_in":3600}`))
	}))

	b := harness.NewTab(t, chromium)
	b.WaitLoaded(page + "/web/")
	request := func(opts map[string]string) (result map[string]any) {
		t.Helper()
		o, _ := json.Marshal(opts)
		out := harness.Eval[string](b, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			try { const tok = await th.requestToken(%s); return JSON.stringify({ token: tok.access_token }); }
			catch (e) { return JSON.stringify({ code: e.code, message: String(e.message) }); }
		})()`, o))
		if err := json.Unmarshal([]byte(out), &result); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		return result
	}
	for _, enc := range []string{"multipart", "form"} {
		for _, grant := range []string{"client_credentials", "password"} {
			t.Run(enc+"/"+grant, func(t *testing.T) {
				before := noCORS.Load()
				opts := map[string]string{"tokenURL": blind + "/token", "encoding": enc, "grantType": grant,
					"clientId": "c", "clientSecret": "a-secret-of-some-length"}
				if grant == "password" {
					opts["username"], opts["password"] = "user", "a-password-of-some-length"
				}
				res := request(opts)
				if res["code"] != "network" {
					t.Errorf("got %v, want a network error", res)
				}
				if n := noCORS.Load() - before; n != 1 {
					t.Errorf("the endpoint got %d POSTs for one requestToken, want exactly 1", n)
				}
			})
		}
	}
	t.Run("readable 503 is retried", func(t *testing.T) {
		res := request(map[string]string{"tokenURL": cors + "/token", "encoding": "form", "clientId": "c", "clientSecret": "a-secret-of-some-length"})
		if res["token"] != "readable" || flaky.Load() != 2 {
			t.Errorf("got %v after %d POSTs, want the token after 2", res, flaky.Load())
		}
	})
}
