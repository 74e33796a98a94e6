//go:build unix

package standardse2e_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

// TestPageAssertionsAtOIDCProvider: the page in Chromium, a custom
// provider given by oidc-provider's issuer: the metadata is discovered
// and shown (issuer, token endpoint, auth methods), a private_key_jwt
// key pasted in gets a token, and the assertion is shown decoded (alg,
// kid, iss, aud the issuer) with neither key nor signature; an issuer
// the document does not name is refused on the page before any token
// request; with DPoP checked the -dpop client's token comes bound
// (after the provider's use_dpop_nonce) and a proof is shown decoded.
// The key and the assertions are nowhere on the page, in what it sent
// (but the assertion in its token POST), broadcast, stored or logged.
func TestPageAssertionsAtOIDCProvider(t *testing.T) {
	chromium, dist := harness.Chromium(t), harness.Dist()
	harness.Require(t, "Chromium", harness.MissingFiles(dist, "(./build.sh build)", "web/index.html", "web/details.mjs")...)
	site := httptest.NewServer(devserver.Handler(dist))
	t.Cleanup(site.Close)
	t.Setenv("CORS_ORIGIN", site.URL)
	p := startOIDC(t)
	key := clientKeys(t).keys[0] // ES256

	tab := harness.NewTab(t, chromium)
	if _, err := chromedp.Call(tab.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordSent}); err != nil {
		t.Fatal(err)
	}
	tab.WaitLoaded(site.URL + "/web/")
	set := func(id, value string) {
		t.Helper()
		harness.Eval[bool](tab, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q;
			if (el.value !== %[2]q) throw new Error("cannot set #" + %[1]q);
			el.dispatchEvent(new Event("input", { bubbles: true })); el.dispatchEvent(new Event("change", { bubbles: true })); return true })()`, id, value))
	}
	text := func(id string) string {
		return harness.Eval[string](tab, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
	}
	waitText := func(id, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(text(id), want) {
			if time.Now().After(deadline) {
				t.Fatalf("#%s says %q, want %q\nconsole:\n%s", id, text(id), want, strings.Join(tab.Console(), "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	posts := func() int {
		return harness.Eval[int](tab, `window.__sent.filter((s) => s.includes('"method":"POST"')).length`)
	}

	set("provider", "custom")
	set("issuer", strings.Replace(p.issuer, "127.0.0.1", "localhost", 1))
	set("client-id", clientID+"-pkjwt")
	set("auth-style", "private_key_jwt")
	set("client-assertion-key", key.pem)
	set("client-assertion-kid", key.kid)
	set("resource", resource)

	t.Run("mix-up refused on the page", func(t *testing.T) {
		waitText("issuer-status", "is not the configured issuer")
		waitText("get-token", "Fix the Issuer")
		if got := text("get-token"); got != "Fix the Issuer" || !harness.Eval[bool](tab, `document.getElementById("get-token").disabled`) {
			t.Errorf("the button says %q, want Fix the Issuer, disabled", got)
		}
		if n := posts(); n != 0 {
			t.Errorf("%d POSTs, want 0", n)
		}
	})

	t.Run("metadata shown", func(t *testing.T) {
		set("issuer", p.issuer)
		waitText("issuer-status", "Token endpoint discovered: "+p.issuer+"/token")
		md := text("metadata")
		for _, want := range []string{p.issuer, p.issuer + "/token", "private_key_jwt", "client_secret_jwt"} {
			if !strings.Contains(md, want) {
				t.Errorf("the metadata card says %q, want %q in it", md, want)
			}
		}
		if harness.Eval[bool](tab, `document.getElementById("client-secret-field").hidden`) != true {
			t.Error("the client secret field is shown with private_key_jwt")
		}
		if f := harness.Eval[string](tab, `document.getElementById("preview-fields").innerText`); !strings.Contains(f, "client_assertion\t****") {
			t.Errorf("the preview's fields: %q, want client_assertion masked", f)
		}
	})

	var assertionJSON string
	t.Run("token and the assertion decoded", func(t *testing.T) {
		tab.Run(30*time.Second,
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
		)
		if !harness.Eval[bool](tab, `!document.getElementById("result").hidden`) {
			t.Fatalf("no token: %s", text("error"))
		}
		waitText("assertion-claims", `"aud"`)
		header, claims := text("assertion-header"), text("assertion-claims")
		assertionJSON = header + claims
		for _, want := range []string{`"alg": "ES256"`, `"kid": "` + key.kid + `"`, `"typ": "JWT"`} {
			if !strings.Contains(header, want) {
				t.Errorf("assertion header %s, want %s", header, want)
			}
		}
		for _, want := range []string{`"iss": "` + clientID + `-pkjwt"`, `"sub": "` + clientID + `-pkjwt"`, `"aud": "` + p.issuer + `"`, `"jti"`, `"exp"`} {
			if !strings.Contains(claims, want) {
				t.Errorf("assertion claims %s, want %s", claims, want)
			}
		}
		if n := posts(); n != 1 {
			t.Errorf("%d token POSTs, want 1", n)
		}
	})

	// DPoP (RFC 9449) towards the provider: the -dpop client wants a
	// proof with its nonce; the token comes bound and the proof is shown
	// decoded, its jwk public.
	t.Run("DPoP: a bound token, the proof decoded", func(t *testing.T) {
		set("client-id", clientID+"-dpop")
		set("auth-style", "body")
		set("client-secret", clientSecret)
		harness.Eval[bool](tab, `(() => { const el = document.getElementById("custom-dpop"); el.checked = true;
			el.dispatchEvent(new Event("change", { bubbles: true })); return true })()`)
		before := posts()
		tab.Run(30*time.Second,
			chromedp.Click(chromedp.ID("get-token")),
			chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
		)
		if !harness.Eval[bool](tab, `!document.getElementById("result").hidden`) {
			t.Fatalf("no token: %s", text("error"))
		}
		if got := text("result-summary"); !strings.Contains(got, "(DPoP)") {
			t.Errorf("the answer says %q, want a DPoP token", got)
		}
		if n := posts() - before; n != 2 {
			t.Errorf("%d token POSTs, want 2 (use_dpop_nonce, then the token)", n)
		}
		waitText("dpop-claims", `"htu"`)
		header, claims := text("dpop-header"), text("dpop-claims")
		for _, want := range []string{`"typ": "dpop+jwt"`, `"alg": "ES256"`, `"kty": "EC"`, `"crv": "P-256"`} {
			if !strings.Contains(header, want) {
				t.Errorf("proof header %s, want %s", header, want)
			}
		}
		if strings.Contains(header, `"d"`) {
			t.Errorf("proof header %s holds a private member", header)
		}
		for _, want := range []string{`"htm": "POST"`, `"htu": "` + p.issuer + `/token"`, `"jti"`, `"iat"`} {
			if !strings.Contains(claims, want) {
				t.Errorf("proof claims %s, want %s", claims, want)
			}
		}
		if harness.Eval[bool](tab, `document.getElementById("dpop-card").hidden`) {
			t.Error("the DPoP card is hidden")
		}
	})

	t.Run("no key on the page, sent, stored or logged", func(t *testing.T) {
		shownPage := harness.Eval[string](tab, `[document.documentElement.outerHTML, document.body.innerText,
			JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie, location.href].join("\n")`)
		sent := harness.Eval[[]string](tab, `window.__sent`)
		locks := harness.Eval[string](tab, `navigator.locks.query().then((q) => JSON.stringify(q))`)
		lines := strings.Split(strings.TrimSpace(key.pem), "\n")
		hits := 0
		for _, where := range append(append(sent, shownPage, locks, assertionJSON), tab.Console()...) {
			for _, l := range lines[1 : len(lines)-1] { // every base64 line of the key
				if strings.Contains(where, l) {
					hits++
					t.Errorf("a line of the key in: %.200s", where)
					break
				}
			}
		}
		// The signed assertion went in the token POST only: its signature
		// is nowhere on the page.
		var sig string
		for _, s := range sent {
			if i := strings.Index(s, "client_assertion="); i >= 0 {
				jws := s[i+len("client_assertion="):]
				jws = jws[:strings.IndexAny(jws+"&\"", "&\"")]
				sig = jws[strings.LastIndex(jws, ".")+1:]
			}
		}
		if len(sig) < 40 {
			t.Fatalf("no signed assertion found in what the page sent")
		}
		if strings.Contains(shownPage, sig) {
			t.Error("the assertion's signature is on the page")
		}
		t.Logf("%d requests, the page, storage, lock names and %d console lines searched for %d key lines: %d hits",
			len(sent), len(tab.Console()), len(lines)-2, hits)
	})
}
