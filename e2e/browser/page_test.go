//go:build !(js && wasm)

package browser_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

// Secrets of the in-process demo provider: distinctive, so that finding
// one anywhere is a leak and not a coincidence.
const (
	clientSecret = "e2e-client-secret-9f3Kq7"
	userPassword = "e2e-user-password-X2v8"
	wrongSecret  = "e2e-wrong-secret-Zp41"
)

// fixture is the page, the demo provider and a browser.
type fixture struct {
	*harness.Tab
	demo    *demoprovider.Server
	demoURL string
	pageURL string
}

func newFixture(t *testing.T) *fixture {
	chromium, dist := prerequisites(t)
	demo := demoprovider.New(demoprovider.Options{ClientSecret: clientSecret, Password: userPassword})
	f := &fixture{demo: demo, demoURL: serve(t, demo), pageURL: serve(t, devserver.Handler(dist))}
	f.Tab = harness.NewTab(t, chromium)
	return f
}

// open loads the page in demo mode.
func (f *fixture) open() {
	f.WaitLoaded(f.pageURL + "/web/#demo=" + f.demoURL)
}

// set sets a select's value and fires change, as a user's choice does.
func (f *fixture) set(id, value string) {
	f.T.Helper()
	js := fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q;
		if (el.value !== %q) throw new Error("no option " + %q + " in #" + %q);
		el.dispatchEvent(new Event("change", { bubbles: true })); return true })()`, id, value, value, value, id)
	harness.Eval[bool](f.Tab, js)
}

// clear empties an input, as a user's select-all and delete does.
func (f *fixture) clear(id string) {
	f.T.Helper()
	harness.Eval[bool](f.Tab, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = "";
		el.dispatchEvent(new Event("input", { bubbles: true })); return true })()`, id))
}

// typeInto types text into an input, key by key.
func (f *fixture) typeInto(id, text string) {
	f.T.Helper()
	harness.Eval[bool](f.Tab, fmt.Sprintf(`(document.getElementById(%q).value = "") === ""`, id))
	f.Run(10*time.Second, chromedp.SendKeys(chromedp.ID(id), text))
}

// submit clicks "Get token" and waits for the token or the error.
func (f *fixture) submit() (ok bool) {
	f.T.Helper()
	f.Run(30*time.Second,
		chromedp.Click(chromedp.ID("get-token")),
		chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
	)
	return harness.Eval[bool](f.Tab, `!document.getElementById("result").hidden`)
}

func (f *fixture) text(id string) string {
	return harness.Eval[string](f.Tab, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

// assertNoSecret checks the page (DOM, rendered text, non-secret inputs,
// storage, cookies, location), the console and every URL for secrets.
func (f *fixture) assertNoSecret(secrets ...string) {
	f.T.Helper()
	page := harness.Eval[string](f.Tab, `[
		document.documentElement.outerHTML,
		document.body.innerText,
		[...document.querySelectorAll("input:not([type=password]), textarea, select")].map((e) => e.value).join("\n"),
		JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie, location.href,
	].join("\n")`)
	console := strings.Join(f.Console(), "\n")
	urls := strings.Join(f.URLs(), "\n")
	for _, s := range secrets {
		for where, text := range map[string]string{"the page": page, "the console": console, "a URL": urls} {
			if strings.Contains(text, s) {
				f.T.Errorf("secret %q found in %s", s, where)
			}
		}
	}
	if len(f.URLs()) == 0 {
		f.T.Error("no URL was recorded: the recorder is broken")
	}
}

func (f *fixture) lastRequest() demoprovider.Received {
	f.T.Helper()
	rs := f.demo.Requests()
	if len(rs) == 0 {
		f.T.Fatal("the demo provider received no request")
	}
	return rs[len(rs)-1]
}

// TestPageProfiles gets a token for each provider profile through the page
// and checks what the demo provider received and what the page shows.
func TestPageProfiles(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		profile, encoding, grant, media string
		fields                          map[string]string
	}{
		{"alphaus-ripple", "", "client_credentials", "multipart/form-data", map[string]string{"scope": "openid"}},
		{"alphaus-wave", "", "client_credentials", "multipart/form-data", map[string]string{"scope": "openid"}},
		{"alphaus-ripple", "", "password", "multipart/form-data", map[string]string{"scope": "openid", "username": "demo-user", "password": demoprovider.RedactedOK}},
		{"aluma", "", "client_credentials", "application/x-www-form-urlencoded", nil},
		{"alluvial", "", "client_credentials", "application/json", map[string]string{"audience": "https://api.alluvial.finance"}},
		{"alluvial-staging", "", "client_credentials", "application/json", map[string]string{"audience": "https://api.staging.alluvial.finance"}},
		{"custom", "form", "client_credentials", "application/x-www-form-urlencoded", nil},
		{"custom", "multipart", "client_credentials", "multipart/form-data", nil},
		{"custom", "json", "client_credentials", "application/json", nil},
	}
	for i, c := range cases {
		name := c.profile + "/" + c.grant + "/" + c.media
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			f.T = t
			defer func() { f.T = nil }()
			f.open()
			f.set("provider", c.profile)
			if c.encoding != "" {
				f.set("encoding", c.encoding)
			}
			f.set("grant", c.grant)
			f.typeInto("client-id", demoprovider.DefaultClientID)
			f.typeInto("client-secret", clientSecret)
			if c.grant == "password" {
				f.typeInto("username", demoprovider.DefaultUsername)
				f.typeInto("password", userPassword)
			}
			// The preview shows the request, secrets masked.
			if got := f.text("preview-url"); got != f.demoURL+demoprovider.Path(c.profile) {
				t.Errorf("preview URL %q, want %q", got, f.demoURL+demoprovider.Path(c.profile))
			}
			headers := f.text("preview-headers")
			if !strings.Contains(headers, c.media) {
				t.Errorf("preview headers %q lack %s", headers, c.media)
			}
			fields := f.text("preview-fields")
			if !strings.Contains(fields, "client_secret****") {
				t.Errorf("preview fields %q: want client_secret masked as ****", fields)
			}
			if curl := f.text("curl"); !strings.HasPrefix(curl, "curl -X POST '"+f.demoURL) || !strings.Contains(curl, "****") {
				t.Errorf("curl = %q", curl)
			}
			if i == 0 {
				f.Screenshot("page-filled")
			}
			f.demo.Reset()
			if !f.submit() {
				t.Fatalf("no token: %s %s: %s", f.text("error-code"), f.text("error-status"), f.text("error-message"))
			}

			// What the provider received.
			r := f.lastRequest()
			want := map[string]string{"grant_type": c.grant, "client_id": demoprovider.DefaultClientID, "client_secret": demoprovider.RedactedOK}
			for k, v := range c.fields {
				want[k] = v
			}
			if r.Profile != c.profile || r.ContentType != c.media || r.Status != 200 || r.BasicAuth {
				t.Errorf("provider received %s %s, answered %d (basic auth %v); want %s %s, 200", r.Profile, r.ContentType, r.Status, r.BasicAuth, c.profile, c.media)
			}
			if fmt.Sprint(r.Fields) != fmt.Sprint(want) {
				t.Errorf("provider received fields %v, want %v", r.Fields, want)
			}

			// What the page shows.
			var claims map[string]any
			if err := json.Unmarshal([]byte(f.text("access-claims")), &claims); err != nil {
				t.Fatalf("claims %q: %v", f.text("access-claims"), err)
			}
			sub := demoprovider.DefaultClientID
			if c.grant == "password" {
				sub = demoprovider.DefaultUsername
			}
			if claims["provider"] != c.profile || claims["sub"] != sub || claims["exp"] == nil || claims["iat"] == nil {
				t.Errorf("claims = %v, want provider %s, sub %s, exp, iat", claims, c.profile, sub)
			}
			if h := f.text("access-header"); !strings.Contains(h, `"alg": "EdDSA"`) {
				t.Errorf("header = %s, want alg EdDSA", h)
			}
			if got := f.text("expires-at"); !strings.Contains(got, time.Now().Add(24*time.Hour).UTC().Format("2006-01-02")) {
				t.Errorf("expires at %q, want a date tomorrow", got)
			}
			if got := f.text("issued-at"); !strings.Contains(got, time.Now().UTC().Format("2006-01-02")) {
				t.Errorf("issued at %q, want today", got)
			}
			if got := f.text("countdown"); !strings.HasPrefix(got, "expires in 23 h 59 min") && !strings.HasPrefix(got, "expires in 1 d") {
				t.Errorf("countdown %q, want about 24 h", got)
			}
			if got := f.text("access-token"); strings.Count(got, ".") != 2 {
				t.Errorf("access token %q is not a JWT", got)
			}
			f.assertNoSecret(clientSecret, userPassword)
		})
	}
}

// TestPageErrors: a wrong secret shows invalid_client, a 500 then 200 is
// retried, 429 and unreachable or CORS-refusing endpoints are explained.
func TestPageErrors(t *testing.T) {
	f := newFixture(t)
	fill := func(profile, secret string) {
		f.open()
		f.set("provider", profile)
		f.typeInto("client-id", demoprovider.DefaultClientID)
		f.typeInto("client-secret", secret)
	}

	t.Run("wrong secret", func(t *testing.T) {
		f.T = t
		fill("aluma", wrongSecret)
		f.demo.Reset()
		if f.submit() {
			t.Fatal("got a token with a wrong secret")
		}
		if got := f.text("error-code"); got != "invalid_client" {
			t.Errorf("error code %q, want invalid_client", got)
		}
		if got := f.text("error-status"); got != "HTTP 401" {
			t.Errorf("status %q, want HTTP 401", got)
		}
		if got := f.text("error-hint"); !strings.Contains(got, "client ID and secret") {
			t.Errorf("hint %q does not say what to check", got)
		}
		if n := f.demo.Count(); n != 1 {
			t.Errorf("%d requests, want 1 (invalid_client is not retried)", n)
		}
		if r := f.lastRequest(); r.Fields["client_secret"] != demoprovider.RedactedWrong {
			t.Errorf("provider saw client_secret %q, want %s", r.Fields["client_secret"], demoprovider.RedactedWrong)
		}
		f.Screenshot("page-error-invalid-client")
		f.assertNoSecret(wrongSecret, clientSecret)
	})

	t.Run("500 then 200 is retried", func(t *testing.T) {
		f.T = t
		fill("alluvial", clientSecret)
		f.demo.Reset()
		if err := f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 500, Times: 1}); err != nil {
			t.Fatal(err)
		}
		if !f.submit() {
			t.Fatalf("no token after a 500: %s", f.text("error-message"))
		}
		rs := f.demo.Requests()
		if len(rs) != 2 || rs[0].Status != 500 || rs[1].Status != 200 {
			t.Errorf("provider log %+v, want 500 then 200", rs)
		}
		f.assertNoSecret(clientSecret)
	})

	t.Run("429 every time", func(t *testing.T) {
		f.T = t
		fill("aluma", clientSecret)
		f.demo.Reset()
		f.demo.Fail(demoprovider.Fault{Kind: demoprovider.FaultStatus, Status: 429, Times: 3})
		if f.submit() {
			t.Fatal("got a token through 429s")
		}
		if code, status := f.text("error-code"), f.text("error-status"); code != "temporarily_unavailable" || status != "HTTP 429" {
			t.Errorf("error %s %s, want temporarily_unavailable HTTP 429", code, status)
		}
		if got := f.text("error-hint"); !strings.Contains(got, "Wait") {
			t.Errorf("hint %q, want advice to wait", got)
		}
		if n := f.demo.Count(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		f.T = t
		fill("custom", clientSecret)
		f.typeInto("token-url", "http://127.0.0.1:9/token")
		if f.submit() {
			t.Fatal("got a token from a closed port")
		}
		if got := f.text("error-code"); got != "network" {
			t.Errorf("error code %q, want network", got)
		}
		// The likely cause first: nothing listens there, not CORS; the
		// message says what the browser reported, without the core's
		// guess that CORS hid an answer.
		if got := f.text("error-hint"); !strings.HasPrefix(got, "Nothing answered at the token URL") || strings.Contains(got, "CORS") {
			t.Errorf("hint %q; want it to say first that nothing answered, and no word about CORS", got)
		}
		if got := f.text("error-message"); !strings.HasPrefix(got, `The browser reported only "TypeError: `) || strings.Contains(got, "CORS") {
			t.Errorf("message %q; want what the browser reported, and no word about CORS", got)
		}
		f.assertNoSecret(clientSecret)
	})

	t.Run("404 from a provider", func(t *testing.T) {
		f.T = t
		fill("custom", clientSecret)
		f.typeInto("token-url", f.demoURL+"/no/such/token")
		if f.submit() {
			t.Fatal("got a token from a path without a token endpoint")
		}
		if got := f.text("error-status"); got != "HTTP 404" {
			t.Errorf("status %q, want HTTP 404", got)
		}
		// Provider mode: no worker is involved.
		if got := f.text("error-hint"); !strings.Contains(got, "token URL") || strings.Contains(strings.ToLower(got), "worker") {
			t.Errorf("hint %q; want the token URL named and no worker", got)
		}
	})

	t.Run("CORS refused", func(t *testing.T) {
		f.T = t
		noCORS := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"x","expires_in":60}`))
		}))
		fill("custom", clientSecret)
		f.typeInto("token-url", noCORS+"/token")
		if f.submit() {
			t.Fatal("the page read an answer without CORS headers")
		}
		// The endpoint answered: CORS, said first, and a curl that works
		// once the masked secret is put back.
		if got := f.text("error-hint"); f.text("error-code") != "network" || !strings.HasPrefix(got, "The token URL answered") ||
			!strings.Contains(got, "(CORS)") || !strings.Contains(got, "in place of ****") {
			t.Errorf("error %s, hint %q; want network, the endpoint answered, CORS, and the secret to put in place of ****", f.text("error-code"), got)
		}
		f.Screenshot("page-error-cors")
		f.assertNoSecret(clientSecret)
	})
}

// TestPageWorkerNetworkHints: in worker mode a worker that answers
// without allowing the page's origin is named as such, with the setting
// to change; one that is not there, as not there.
func TestPageWorkerNetworkHints(t *testing.T) {
	f := newFixture(t)
	noCORS := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":"origin_not_allowed"}`))
	}))
	for _, c := range []struct {
		url, want string
		cors      bool
	}{
		{noCORS + "/token", "The worker URL answered", true},
		{"http://127.0.0.1:9/token", "Nothing answered at the worker URL", false},
	} {
		f.open()
		f.click("mode-worker")
		f.typeInto("worker-url", c.url)
		if f.submit() {
			t.Fatalf("a token from %s", c.url)
		}
		hint := f.text("error-hint")
		if !strings.HasPrefix(hint, c.want) {
			t.Errorf("%s: hint %q, want it to start %q", c.url, hint, c.want)
		}
		if strings.Contains(hint, "CORS") != c.cors || strings.Contains(hint, "ALLOWED_ORIGINS") != c.cors {
			t.Errorf("%s: hint %q; CORS and ALLOWED_ORIGINS only for a worker that answered", c.url, hint)
		}
	}
}

// TestPageDemoEmptyTokenURL: in demo mode an emptied Token URL is the demo
// provider's, shown as such and sent there: the demo credentials never go
// to the real provider.
func TestPageDemoEmptyTokenURL(t *testing.T) {
	f := newFixture(t)
	f.open()
	f.set("provider", "alphaus-ripple")
	f.clear("token-url")
	want := f.demoURL + demoprovider.Path("alphaus-ripple")
	if got := harness.Eval[string](f.Tab, `document.getElementById("token-url").placeholder`); got != want {
		t.Errorf("placeholder of the emptied Token URL %q, want %q", got, want)
	}
	f.typeInto("client-id", demoprovider.DefaultClientID)
	f.typeInto("client-secret", clientSecret)
	if got := f.text("preview-url"); got != want {
		// Stop before sending anything to the real provider.
		t.Fatalf("preview URL %q with the Token URL emptied, want the demo provider's %q", got, want)
	}
	f.demo.Reset()
	if !f.submit() {
		t.Fatalf("no token: %s %s", f.text("error-code"), f.text("error-message"))
	}
	if n := f.demo.Count(); n != 1 {
		t.Errorf("the demo provider got %d requests, want 1", n)
	}
	for _, u := range f.URLs() {
		if strings.Contains(u, "alphaus.cloud") {
			t.Errorf("the page asked %s", u)
		}
	}
}

// TestPageExpiryFromExp: a worker-minted token (exp on a whole second,
// expires_in rounded down from it, as worker/mintmode.go computes it)
// shows the expiry its exp claim says, to the second.
func TestPageExpiryFromExp(t *testing.T) {
	f := newFixture(t)
	var exp atomic.Int64
	worker := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o == f.pageURL {
			w.Header().Set("Access-Control-Allow-Origin", o)
		}
		now := time.Now()
		e := now.Unix() + 300
		exp.Store(e)
		claims := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"sub":"minted","iat":%d,"exp":%d}`, now.Unix(), e))
		w.Header().Set("Content-Type", "application/json")
		// floor(exp - now): 299 unless now falls on a whole second.
		fmt.Fprintf(w, `{"access_token":"eyJhbGciOiJFZERTQSJ9.%s.c2ln","token_type":"Bearer","expires_in":%d}`, claims, (e*1000-now.UnixMilli())/1000)
	}))
	f.open()
	f.click("mode-worker")
	f.typeInto("worker-url", worker+"/token")
	if !f.submit() {
		t.Fatalf("no token: %s", f.text("error-message"))
	}
	want := time.Unix(exp.Load(), 0).UTC().Format("2006-01-02T15:04:05")
	if got := f.text("expires-at"); !strings.Contains(got, want) {
		t.Errorf("expires at %q, want the exp claim's %s", got, want)
	}
	if got := f.text("access-times"); !strings.Contains(got, want) {
		t.Errorf("the card's exp %q, want %s", got, want)
	}
}

// TestPageReadyTime: the ready line counts from the navigation, what the
// user waited for, not from when the page's script started.
func TestPageReadyTime(t *testing.T) {
	f := newFixture(t)
	f.open()
	status := f.text("status")
	var ms int
	if _, err := fmt.Sscanf(status, "Ready %d ms after the page was opened", &ms); err != nil {
		t.Fatalf("status %q: %v", status, err)
	}
	mark := harness.Eval[float64](f.Tab, `performance.getEntriesByName("tokenhelper-loaded")[0].startTime`)
	script := harness.Eval[float64](f.Tab, `performance.getEntriesByType("navigation")[0].domInteractive`)
	if float64(ms) < mark-1 || float64(ms) < script {
		t.Errorf("ready after %d ms, but the module was ready %.0f ms after the navigation (the document was parsed at %.0f ms)", ms, mark, script)
	}
}

// TestPageWorkerMode gets a token from a (fake) tokenhelper Worker: a
// bodiless POST, nothing secret in the page.
func TestPageWorkerMode(t *testing.T) {
	f := newFixture(t)
	var got []string
	worker := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o == f.pageURL {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Vary", "Origin")
		}
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" body="+string(body)+" ct="+r.Header.Get("Content-Type"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"via-worker","exp":4102444800,"iat":1700000000}`))
		fmt.Fprintf(w, `{"access_token":"eyJhbGciOiJIUzI1NiJ9.%s.c2ln","token_type":"Bearer","expires_in":300}`, claims)
	}))
	f.open()
	f.Run(10*time.Second, chromedp.Click(chromedp.ID("mode-worker")))
	f.typeInto("worker-url", worker+"/token")
	if got := f.text("preview-url"); got != worker+"/token" {
		t.Errorf("preview URL %q, want the worker's", got)
	}
	if !f.submit() {
		t.Fatalf("no token from the worker: %s", f.text("error-message"))
	}
	if len(got) != 1 || got[0] != "POST /token body= ct=" {
		t.Errorf("worker received %q, want one bodiless POST /token", got)
	}
	if c := f.text("access-claims"); !strings.Contains(c, `"sub": "via-worker"`) {
		t.Errorf("claims %s, want sub via-worker", c)
	}
	if c := f.text("countdown"); !strings.HasPrefix(c, "expires in 4 min") && !strings.HasPrefix(c, "expires in 5 min") {
		t.Errorf("countdown %q, want about 5 min", c)
	}

	// Copy token: the clipboard then holds exactly the access token.
	f.grantClipboard()
	if clip := f.copyWith("access-copy"); clip != f.text("access-token") {
		t.Errorf("clipboard %q, want the access token", clip)
	}
}

// TestPagePhoneWidth: no horizontal scrolling at 375 px.
func TestPagePhoneWidth(t *testing.T) {
	f := newFixture(t)
	f.Run(10*time.Second, chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	f.open()
	f.set("provider", "alphaus-ripple")
	f.set("grant", "password")
	if w := harness.Eval[int](f.Tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the page is %d px wider than a 375 px screen", w)
	}
	f.Screenshot("page-phone")
}

// TestDecodeCompatInChromium runs the jwt-decode comparison vectors in the
// page, with the npm package loaded beside the module.
func TestDecodeCompatInChromium(t *testing.T) {
	f := newFixture(t)
	f.WaitLoaded(f.pageURL + "/browser-test/compat.html")
	var res struct {
		Count    int
		Failures []string
	}
	if err := json.Unmarshal([]byte(harness.Eval[string](f.Tab, `JSON.stringify(window.compat)`)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Count < 20 {
		t.Errorf("%d vectors ran, want the full set", res.Count)
	}
	for _, m := range res.Failures {
		t.Error(m)
	}
}
