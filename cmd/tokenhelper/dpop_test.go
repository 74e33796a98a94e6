//go:build unix

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenhelper/tokenhelper/dpop"
)

// TestProcessDPoPWorkerMode: in worker mode, TOKENHELPER_DPOP=on sends a
// proof with the POST to the worker (a stand-in that checks it and binds
// its token to the proof's key), the token is not printed alone, and
// --url prints the Authorization: DPoP line and a proof for that method
// and URL by the same key (the one kept in the cache directory: a second
// invocation takes the token from the cache and proves the same key).
func TestProcessDPoPWorkerMode(t *testing.T) {
	var checker dpop.Checker
	var posts atomic.Int32
	var jkt atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The URL from the request: srv, being assigned, is not to be read here.
		p, err := checker.Check(r.Header.Get("DPoP"), "POST", "http://"+r.Host+"/token", "")
		if err != nil {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_dpop_proof"}`)
			return
		}
		posts.Add(1)
		jkt.Store(p.JKT)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"minted-bound","token_type":"DPoP","expires_in":300}`)
	}))
	defer srv.Close()
	h := newHome(t)
	env := map[string]string{"TOKENHELPER_WORKER": srv.URL + "/token", "TOKENHELPER_ORIGIN": "https://app.example", "TOKENHELPER_DPOP": "on"}
	if r := h.run(t, env, "token"); r.code != exitConfig || r.stdout != "" || !strings.Contains(r.stderr, "DPoP-bound") {
		t.Fatalf("token alone: got %d %q %q, want 2 and the hint", r.code, r.stdout, r.stderr)
	}
	api := srv.URL + "/api/items?x=1"
	r := h.run(t, env, "token", "--method", "DELETE", "--url", api)
	auth, proof, _ := strings.Cut(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || auth != "Authorization: DPoP minted-bound" || !strings.HasPrefix(proof, "DPoP: ") {
		t.Fatalf("token --url: got %d %q %q", r.code, r.stdout, r.stderr)
	}
	p, err := checker.Check(strings.TrimPrefix(proof, "DPoP: "), "DELETE", srv.URL+"/api/items", "minted-bound")
	if err != nil {
		t.Fatalf("the printed proof: %v", err)
	}
	if p.JKT != jkt.Load() || posts.Load() != 1 {
		t.Errorf("the printed proof's key %v (token's %v), %d POSTs; want the token's key after one POST", p.JKT, jkt.Load(), posts.Load())
	}
}
