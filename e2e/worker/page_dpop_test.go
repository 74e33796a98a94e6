//go:build unix

package workere2e_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestPageShowsDPoPProof: the page in worker mode with its DPoP box
// ticked, against the worker bundle in bare workerd with DPOP=required,
// gets a DPoP token and shows a proof decoded: typ dpop+jwt, ES256, the
// public JWK of the origin's key (the one in IndexedDB), htm POST and htu
// the worker's token URL. Without the box the required route refuses the
// page.
func TestPageShowsDPoPProof(t *testing.T) {
	chromium, dist := browserPrereqs(t)
	bundle := harness.WorkerBundle(t, false)
	provider := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	defer provider.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	_, key := testkeys.Ed25519(t)
	w := harness.StartBareWorkerd(t, devrun.Service{Name: "pagedpop", Src: bundle, Files: devrun.BundleFiles, Vars: env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL,
		worker.VarMode:           "mint",
		worker.VarSigningKey:     strings.TrimSpace(key),
		worker.VarUpstream:       "http://127.0.0.1:9/v1",
		worker.VarDPoP:           worker.DPoPRequired,
	}})

	b := harness.NewTab(t, chromium)
	b.WaitLoaded(page.URL + "/web/")
	tokenURL := w.URL + "/token"
	harness.Eval[bool](b, fmt.Sprintf(`(() => {
		const el = (id) => document.getElementById(id);
		el("mode-worker").checked = true; el("mode-worker").dispatchEvent(new Event("change", { bubbles: true }));
		el("worker-url").value = %q; el("worker-url").dispatchEvent(new Event("input", { bubbles: true }));
		return true })()`, tokenURL))
	submit := func() bool {
		t.Helper()
		b.Run(30*time.Second,
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
		)
		return harness.Eval[bool](b, `!document.getElementById("result").hidden`)
	}
	textOf := func(id string) string {
		return harness.Eval[string](b, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
	}

	if submit() {
		t.Error("a bearer request got a token from a route with DPOP=required")
	}
	if !harness.Eval[bool](b, `document.getElementById("dpop-card").hidden`) {
		t.Error("a DPoP proof is shown for a request without DPoP")
	}

	harness.Eval[bool](b, `(() => { const el = document.getElementById("worker-dpop"); el.checked = true;
		el.dispatchEvent(new Event("change", { bubbles: true })); return true })()`)
	if !submit() {
		t.Fatalf("no token with DPoP: %s\nconsole:\n%s\nworker:\n%s", textOf("error"), text(b.Console()), w.Log())
	}
	if tt := harness.Eval[string](b, `document.getElementById("raw-json").textContent`); !strings.Contains(tt, `"token_type": "DPoP"`) {
		t.Errorf("the answer: %.300s, want token_type DPoP", tt)
	}
	b.Run(10*time.Second, chromedp.Poll[chromedp.Void](`document.getElementById("dpop-claims").textContent.includes("htu")`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))
	header, claims := textOf("dpop-header"), textOf("dpop-claims")
	jwk := harness.Eval[string](b, `(async () => { const { dpopKey } = await import("/web/crypto.mjs"); return (await dpopKey()).jwk.x; })()`)
	for _, want := range []string{`"typ": "dpop+jwt"`, `"alg": "ES256"`, `"kty": "EC"`, `"x": "` + jwk + `"`} {
		if !strings.Contains(header, want) {
			t.Errorf("proof header %s, want %s", header, want)
		}
	}
	for _, want := range []string{`"htm": "POST"`, `"htu": "` + tokenURL + `"`, `"jti"`, `"iat"`} {
		if !strings.Contains(claims, want) {
			t.Errorf("proof claims %s, want %s", claims, want)
		}
	}
	if strings.Contains(header, `"d"`) {
		t.Errorf("the proof header holds a private key member: %s", header)
	}
}
