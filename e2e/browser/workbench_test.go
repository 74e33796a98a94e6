//go:build !(js && wasm)

package browser_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestPageWorkbench uses the page as a developer would, keyboard first, at
// 1280 and 390 px: what is missing, the Ripple answer with its three
// tokens, the refresh token used, an error; after each step nothing secret
// in the page, the URL, storage or the clipboard, axe-core without serious
// or critical violations in both colour schemes, no horizontal scroll.
func TestPageWorkbench(t *testing.T) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			f := newFixture(t)
			f.emulate(vp)
			f.grantClipboard()
			f.open()
			f.noHorizontalScroll("empty form")
			f.axe("empty form")

			// What is missing is said once, in the form's words, and on the button.
			f.set("provider", "alphaus-ripple")
			f.set("grant", "password")
			if got, want := f.text("get-token"), "Fill in Client ID, Client secret, Username and Password"; got != want {
				t.Errorf("button %q, want %q", got, want)
			}
			if !harness.Eval[bool](f.Tab, `document.getElementById("get-token").disabled`) {
				t.Error("Get token is enabled with required fields missing")
			}
			if got := f.text("preview-error"); !strings.Contains(got, "Client ID, Client secret, Username and Password") || strings.Contains(got, "ClientID") {
				t.Errorf("preview says %q, want the missing fields by their labels", got)
			}
			if f.visible("error") {
				t.Error("a missing field shows in the error box too")
			}
			if f.visible("audience") {
				t.Error("Audience shows for Alphaus Ripple")
			}
			f.typeInto("client-id", demoprovider.DefaultClientID)
			f.pressEnter("client-id") // Enter with fields missing goes to the next one
			if got := f.focused(); got != "client-secret" {
				t.Errorf("Enter with the secret missing focused %q, want client-secret", got)
			}
			f.typeInto("client-secret", clientSecret)
			f.typeInto("username", demoprovider.DefaultUsername)
			f.typeInto("password", userPassword)
			if got := f.text("get-token"); got != "Get token" {
				t.Errorf("button %q once everything is filled in, want Get token", got)
			}
			f.assertNoSecret(clientSecret, userPassword)

			// Enter submits; the answer gets the focus.
			f.demo.Reset()
			f.pressEnter("password")
			if !f.waitAnswer() {
				t.Fatalf("no token: %s %s", f.text("error-code"), f.text("error-message"))
			}
			if got := f.focused(); got != "result" {
				t.Errorf("focus on %q after the token, want result", got)
			}
			for _, id := range []string{"access-card", "id-card", "card-refresh", "use-refresh", "lifetime"} {
				if !f.visible(id) {
					t.Errorf("#%s not shown", id)
				}
			}
			for _, id := range []string{"access-token", "id-token"} {
				if n := harness.Eval[int](f.Tab, fmt.Sprintf(`document.querySelectorAll("#%s > span[class^=jwt-]").length`, id)); n != 3 {
					t.Errorf("#%s in %d coloured parts, want 3", id, n)
				}
			}
			var idClaims map[string]any
			if err := json.Unmarshal([]byte(f.text("id-claims")), &idClaims); err != nil || idClaims["aud"] != demoprovider.DefaultClientID || idClaims["name"] != demoprovider.DefaultUsername {
				t.Errorf("ID token claims %s (%v), want aud %s, name %s", f.text("id-claims"), err, demoprovider.DefaultClientID, demoprovider.DefaultUsername)
			}
			if got := f.text("token-scope"); !strings.HasPrefix(got, "openid") {
				t.Errorf("scope %q, want openid (from the claims)", got)
			}
			if got := f.text("elapsed"); !strings.Contains(got, " ms") {
				t.Errorf("request time %q", got)
			}
			if v := harness.Eval[float64](f.Tab, `document.getElementById("lifetime").value`); v < 0.99 || v > 1 {
				t.Errorf("lifetime bar at %v, want about 1", v)
			}
			if got := f.text("access-times"); !strings.Contains(got, "Expires (exp)") {
				t.Errorf("access token times %q, want exp as a date", got)
			}

			// The access and ID tokens stand in their cards, encoded (as
			// jwt.io shows them); the refresh token and the raw JSON are
			// masked until revealed: revealed tokens are the only unmasked
			// ones, each where it was revealed.
			access, idToken := f.text("access-token"), f.text("id-token")
			if raw := f.text("raw-json"); strings.Contains(raw, access) || !strings.Contains(raw, "hidden") || !strings.Contains(raw, `"token_type": `) {
				t.Errorf("raw JSON before Reveal: %s", raw)
			}
			if got := f.text("refresh-shown"); !strings.Contains(got, "hidden") {
				t.Errorf("refresh token shown as %q before Reveal", got)
			}
			f.click("reveal-refresh")
			refresh := f.text("refresh-shown")
			if len(refresh) < 16 || strings.Contains(refresh, "hidden") {
				t.Fatalf("revealed refresh token %q", refresh)
			}
			tokens := map[string]string{"access token": access, "ID token": idToken, "refresh token": refresh}
			shownAt := map[string][]string{"access token": {"#access-token"}, "ID token": {"#id-token"}}
			f.tokensOnlyAt("refresh token revealed", map[string][]string{"access token": {"#access-token"}, "ID token": {"#id-token"}, "refresh token": {"#refresh-shown"}}, tokens)
			f.click("reveal-refresh")
			f.tokensOnlyAt("refresh token hidden", shownAt, tokens)
			f.Screenshot("workbench-ripple-" + vp.name)
			f.scheme("dark")
			f.Screenshot("workbench-ripple-" + vp.name + "-dark")
			f.scheme("light")
			f.noHorizontalScroll("Ripple tokens")
			f.axe("Ripple tokens")
			f.click("raw-summary")
			f.click("reveal-raw")
			// The provider's answer as sent: its own members beside the tokens.
			var raw map[string]any
			if err := json.Unmarshal([]byte(f.text("raw-json")), &raw); err != nil || raw["access_token"] != access || raw["id_token"] != idToken || raw["refresh_token"] != refresh || raw["expires_in"] != 86400.0 {
				t.Errorf("raw JSON after Reveal (%v): %s", err, f.text("raw-json"))
			}
			f.tokensOnlyAt("raw JSON revealed", map[string][]string{"access token": {"#access-token", "#raw-json"}, "ID token": {"#id-token", "#raw-json"}, "refresh token": {"#raw-json"}}, tokens)
			f.click("reveal-raw")
			f.tokensOnlyAt("raw JSON hidden", shownAt, tokens)

			// Every copy button: exactly what it names, never a secret.
			if clip := f.copyWith("copy-curl"); !strings.Contains(clip, "curl -X POST") || strings.Contains(clip, clientSecret) || strings.Contains(clip, userPassword) {
				t.Errorf("copied curl %q", clip)
			}
			for id, want := range map[string]string{"access-copy": access, "id-copy": f.text("id-token"), "copy-refresh": refresh} {
				if clip := f.copyWith(id); clip != want {
					t.Errorf("%s copied %q, want %q", id, clip, want)
				}
			}
			f.assertNoSecret(clientSecret, userPassword)

			// Use the refresh token: the refresh_token grant, filled in.
			f.click("use-refresh")
			if g := harness.Eval[string](f.Tab, `document.getElementById("grant").value`); g != "refresh_token" {
				t.Errorf("grant %q after Use the refresh token", g)
			}
			if got := f.focused(); got != "get-token" {
				t.Errorf("focus on %q after Use the refresh token, want get-token", got)
			}
			if curl := f.text("curl"); strings.Contains(curl, refresh) || !strings.Contains(curl, "refresh_token=****") {
				t.Errorf("curl for the refresh grant: %s", curl)
			}
			f.tokensOnlyAt("refresh token filled in", map[string][]string{"access token": {"#access-token"}, "ID token": {"#id-token"}, "refresh token": {"#refresh-token=value"}}, tokens)
			f.demo.Reset()
			if !f.submit() {
				t.Fatalf("refresh grant refused: %s %s", f.text("error-code"), f.text("error-message"))
			}
			if r := f.lastRequest(); r.Fields["grant_type"] != "refresh_token" || r.Fields["refresh_token"] != demoprovider.RedactedOK {
				t.Errorf("provider received %v, want the refresh_token grant with the token issued", r.Fields)
			}
			if strings.Contains(f.pageText(), refresh) {
				t.Error("the used refresh token is in the page")
			}
			f.assertNoSecret(clientSecret, userPassword, refresh)

			// An error: focus and announcement on the error box.
			f.set("grant", "client_credentials")
			f.typeInto("client-secret", wrongSecret)
			if f.submit() {
				t.Fatal("got a token with a wrong secret")
			}
			if got := f.focused(); got != "error" {
				t.Errorf("focus on %q after an error, want error", got)
			}
			if got := harness.Eval[string](f.Tab, `document.getElementById("error").getAttribute("role")`); got != "alert" {
				t.Errorf("error role %q, want alert", got)
			}
			f.Screenshot("workbench-error-" + vp.name)
			f.noHorizontalScroll("error")
			f.axe("error")
			f.assertNoSecret(clientSecret, userPassword, wrongSecret)
		})
	}
}

// TestPageFieldsByProvider: Scope and Audience show where the provider
// uses them, and a hidden field is not sent.
func TestPageFieldsByProvider(t *testing.T) {
	f := newFixture(t)
	f.open()
	for _, c := range []struct {
		profile         string
		scope, audience bool
	}{
		{"alphaus-ripple", true, false}, {"alphaus-wave", true, false}, {"aluma", false, false},
		{"alluvial", false, true}, {"alluvial-staging", false, true}, {"custom", true, true},
	} {
		f.set("provider", c.profile)
		if got := f.visible("scope"); got != c.scope {
			t.Errorf("%s: Scope shown %v, want %v", c.profile, got, c.scope)
		}
		if got := f.visible("audience"); got != c.audience {
			t.Errorf("%s: Audience shown %v, want %v", c.profile, got, c.audience)
		}
	}
	f.set("provider", "alluvial")
	f.typeInto("audience", "https://api.example.com")
	f.set("provider", "aluma")
	f.typeInto("client-id", "c")
	f.typeInto("client-secret", clientSecret)
	if fields := f.text("preview-fields"); strings.Contains(fields, "audience") {
		t.Errorf("Aluma request holds the hidden audience: %s", fields)
	}
	// RFC 8707 resource indicators: custom providers only, one parameter
	// each, as the provider receives them.
	if f.visible("resource") {
		t.Errorf("Aluma shows the Resource field, which only custom providers take")
	}
	f.set("provider", "custom")
	f.set("encoding", "form")
	f.clear("client-id")
	f.typeInto("client-id", demoprovider.DefaultClientID)
	f.typeInto("resource", "https://api.example.com/ urn:example:inventory")
	if fields := f.text("preview-fields"); strings.Count(fields, "resource") != 2 {
		t.Errorf("preview fields %q: want two resource parameters", fields)
	}
	f.demo.Reset()
	if !f.submit() {
		t.Fatalf("no token with resource indicators: %s %s", f.text("error-code"), f.text("error-message"))
	}
	if aud := f.text("access-claims"); !strings.Contains(aud, "urn:example:inventory") {
		t.Errorf("claims %s: want the resources as the audience (the demo provider's custom profile)", aud)
	}
	f.clear("resource")
	// A configuration error other than a missing field: once, with the label.
	f.set("provider", "custom")
	f.typeInto("token-url", "http://auth.example.com/token")
	if got := f.text("preview-error"); !strings.HasPrefix(got, "Token URL: ") || strings.Contains(got, "TokenURL") {
		t.Errorf("preview says %q, want the Token URL problem by its label", got)
	}
	if got := f.text("get-token"); got != "Fix the Token URL" {
		t.Errorf("button %q, want Fix the Token URL", got)
	}
}

// TestPageDemoCredentials: in demo mode the page shows the demo provider's
// fixed public credentials and fills them in; they get a token.
func TestPageDemoCredentials(t *testing.T) {
	f := newFixture(t)
	f.open()
	for id, want := range map[string]string{
		"demo-client-id": demoprovider.DefaultClientID, "demo-client-secret": demoprovider.DefaultClientSecret,
		"demo-username": demoprovider.DefaultUsername, "demo-password": demoprovider.DefaultPassword,
	} {
		if got := f.text(id); got != want {
			t.Errorf("#%s shows %q, want %q", id, got, want)
		}
	}
	f.click("fill-demo")
	if got := harness.Eval[string](f.Tab, `document.getElementById("client-secret").value`); got != demoprovider.DefaultClientSecret {
		t.Errorf("Fill in filled the secret with %q", got)
	}
	// The fixture's provider has other credentials: the demo ones are refused.
	if f.submit() || f.text("error-code") != "invalid_client" {
		t.Errorf("the fixture's provider accepted the default demo secret (%s)", f.text("error-code"))
	}
	f.WaitLoaded(f.pageURL + "/web/")
	if f.visible("demo-banner") {
		t.Error("demo credentials shown outside demo mode")
	}
}

// TestPageWorkerWorkbench: worker mode at both widths; the curl carries
// the page's Origin; a wrong worker path is a readable not_found, asked
// once.
func TestPageWorkerWorkbench(t *testing.T) {
	f := newFixture(t)
	var posts atomic.Int32
	worker := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o == f.pageURL {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Vary", "Origin")
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && r.URL.Path == "/routes" {
			// A route name the worker could not have: never put in a URL.
			fmt.Fprint(w, `{"routes":[{"name":"ripple","mode":"mint"},{"name":"wave","mode":"pass"},{"name":"../x","mode":"pass"}]}`)
			return
		}
		posts.Add(1)
		if r.URL.Path != "/token" && r.URL.Path != "/wave/token" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"not_found","error_description":"no such endpoint; POST /token"}`)
			return
		}
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"via-worker","exp":4102444800,"iat":1700000000}`))
		fmt.Fprintf(w, `{"access_token":"eyJhbGciOiJIUzI1NiJ9.%s.c2ln","token_type":"Bearer","expires_in":300}`, claims)
	}))
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			f.T = t
			f.emulate(vp)
			f.open()
			f.click("mode-worker")
			f.typeInto("worker-url", worker+"/token")
			if curl := f.text("curl"); !strings.Contains(curl, "-H 'Origin: "+f.pageURL+"'") {
				t.Errorf("worker curl lacks the page's Origin: %s", curl)
			}
			if !f.submit() {
				t.Fatalf("no token from the worker: %s", f.text("error-message"))
			}
			if f.visible("card-refresh") || f.visible("id-card") {
				t.Error("refresh or ID token card shown for an access token alone")
			}
			f.tokensOnlyAt("worker token", map[string][]string{"access token": {"#access-token"}}, map[string]string{"access token": f.text("access-token")})
			f.Screenshot("workbench-worker-" + vp.name)
			f.noHorizontalScroll("worker token")
			f.axe("worker token")

			// The worker's routes, listed on Enter and offered in a picker.
			f.typeInto("worker-base", worker)
			f.pressEnter("worker-base")
			f.Run(10*time.Second, chromedp.Poll[chromedp.Void](`!document.getElementById("route-field").hidden`, chromedp.WithPollingTimeout(5*time.Second)))
			if got := harness.Eval[string](f.Tab, `[...document.getElementById("worker-route").options].map((o) => o.value).join(",")`); got != ",ripple,wave" {
				t.Errorf("the route picker offers %q, want ,ripple,wave", got)
			}
			f.set("worker-route", "wave")
			if got := harness.Eval[string](f.Tab, `document.getElementById("worker-url").value`); got != worker+"/wave/token" {
				t.Errorf("choosing wave filled in %q, want %s/wave/token", got, worker)
			}
			f.noHorizontalScroll("worker routes")
			f.axe("worker routes")
			if !f.submit() {
				t.Fatalf("no token from the wave route: %s", f.text("error-message"))
			}
		})
	}
	f.T = t
	f.typeInto("worker-url", worker+"/tokn")
	posts.Store(0)
	if f.submit() {
		t.Fatal("a token from a wrong worker path")
	}
	if code, status := f.text("error-code"), f.text("error-status"); code != "not_found" || status != "HTTP 404" {
		t.Errorf("wrong worker path: %s %s, want not_found HTTP 404", code, status)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("wrong worker path asked %d times, want 1", n)
	}
}

// TestPageDemoBoxByMode: the demo box offers the demo credentials in
// provider mode only; in worker mode the worker holds them.
func TestPageDemoBoxByMode(t *testing.T) {
	f := newFixture(t)
	f.open()
	credentials := []string{"demo-client-id", "demo-client-secret", "demo-username", "demo-password", "fill-demo"}
	for _, id := range credentials {
		if !f.visible(id) {
			t.Errorf("provider mode: #%s not shown", id)
		}
	}
	f.click("mode-worker")
	for _, id := range credentials {
		if f.visible(id) {
			t.Errorf("worker mode: #%s shown, though the page sends no credentials", id)
		}
	}
	if !f.visible("demo-worker") {
		t.Error("worker mode: the demo box does not say that the worker holds the credentials")
	}
	f.axe("demo box, worker mode")
	f.click("mode-credentials")
	if !f.visible("fill-demo") || f.visible("demo-worker") {
		t.Error("back in provider mode: the demo credentials are not offered again")
	}
}

// TestPageSelectsFit: every option of every select of the custom provider
// is shown whole, at 1280 and 390 px: its text, in the select's font, fits
// the box less its padding and arrow.
func TestPageSelectsFit(t *testing.T) {
	f := newFixture(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			f.T = t
			f.emulate(vp)
			f.open()
			f.set("provider", "custom")
			f.set("grant", "password")
			cut := harness.Eval[string](f.Tab, `(() => {
				const ctx = document.createElement("canvas").getContext("2d");
				const out = [];
				for (const sel of document.querySelectorAll("#credentials-fields select")) {
					if (!sel.checkVisibility()) continue;
					const cs = getComputedStyle(sel);
					ctx.font = cs.font;
					// The text area: the box less its padding, borders and the arrow (about 1.5em).
					const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 1.5 * parseFloat(cs.fontSize);
					for (const o of sel.options) {
						const w = ctx.measureText(o.text).width;
						if (w > room) out.push("#" + sel.id + ": " + JSON.stringify(o.text) + " needs " + Math.ceil(w) + " px, has " + Math.floor(room));
					}
				}
				return out.join("\n");
			})()`)
			if cut != "" {
				t.Errorf("options cut off at %d px:\n%s", vp.width, cut)
			}
			if n := harness.Eval[int](f.Tab, `document.querySelectorAll("#credentials-fields select").length`); n < 4 {
				t.Errorf("%d selects found, want the 4 of the custom provider", n)
			}
			f.Screenshot("page-custom-" + vp.name)
			f.noHorizontalScroll("custom provider")
		})
	}
}
