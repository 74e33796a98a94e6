//go:build unix

package workere2e_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
	"github.com/tokenhelper/tokenhelper/worker"
)

// TestPageRouteStatus: in worker mode the page (dist/web, in headless
// Chromium) reads the worker's route status (GET /status in workerd, CORS
// for the allowed origin) with the STATUS_TOKEN typed in: after a token
// was obtained it shows token_held true; a wrong status token shows the
// 401 message; a page from another origin cannot read it; the status
// token is never in a URL, the storage, a cookie or the console.
func TestPageRouteStatus(t *testing.T) {
	wrangler, bundle := harness.Wrangler(t), harness.WorkerBundle(t, false)
	chromium, dist := browserPrereqs(t)
	const statusToken = "status-token-e2e-5f1c0a9d7b3e"
	demo := demoprovider.New(demoprovider.Options{})
	provider := httptest.NewServer(demo)
	defer provider.Close()
	page := httptest.NewServer(devserver.Handler(dist))
	defer page.Close()
	other := httptest.NewServer(devserver.Handler(dist)) // another port: another origin
	defer other.Close()
	vars := env{
		worker.VarProvider:       "alphaus-ripple",
		worker.VarTokenURL:       provider.URL + demoprovider.Path("alphaus-ripple"),
		worker.VarClientID:       demoprovider.DefaultClientID,
		worker.VarClientSecret:   secret,
		worker.VarAllowedOrigins: page.URL,
		worker.VarStatusToken:    statusToken,
	}
	w := harness.StartWorkerd(t, wrangler, workerDir(t, bundle, vars, 100000, false), t.TempDir())
	b := harness.NewTab(t, chromium)

	const answered = `(() => { const s = document.getElementById("route-status-msg").textContent; return s !== "" && !s.startsWith("Asking") })()`
	// readStatus types token into the status field (Enter or the button)
	// and returns what the page then says.
	readStatus := func(token string, enter bool) string {
		t.Helper()
		harness.Eval[bool](b, `(document.getElementById("status-token").value = document.getElementById("route-status-msg").textContent = "") === ""`)
		acts := []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("status-token"), token)}
		if enter {
			acts = append(acts, chromedp.SendKeys(chromedp.ID("status-token"), "\r"))
		} else {
			acts = append(acts, chromedp.Click(chromedp.ID("read-status")))
		}
		acts = append(acts, chromedp.Poll[chromedp.Void](answered, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		b.Run(20*time.Second, acts...)
		return harness.Eval[string](b, `document.getElementById("route-status-msg").textContent`)
	}

	b.WaitLoaded(page.URL + "/web/")
	b.Run(30*time.Second,
		chromedp.Click(chromedp.ID("mode-worker")),
		chromedp.SetValue(chromedp.ID("worker-url"), w.URL+"/token"),
		chromedp.Click(chromedp.ID("get-token")),
		chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)),
	)
	if !harness.Eval[bool](b, `!document.getElementById("result").hidden`) {
		t.Fatalf("no token: %s\nconsole:\n%s", harness.Eval[string](b, `document.getElementById("error").innerText`), text(b.Console()))
	}

	if got := readStatus("wrong-"+statusToken, false); !strings.Contains(got, "401") || !strings.Contains(got, "STATUS_TOKEN") {
		t.Errorf("a wrong status token: the page says %q, want the 401 message", got)
	}
	if harness.Eval[bool](b, `!document.getElementById("route-status-json").hidden`) {
		t.Error("a wrong status token: a status is shown")
	}
	if got := readStatus(statusToken, true); !strings.Contains(got, w.URL+"/status") {
		t.Fatalf("the status token: the page says %q\nconsole:\n%s", got, text(b.Console()))
	}
	shown := harness.Eval[string](b, `document.getElementById("route-status-json").textContent`)
	var st struct {
		Routes []struct {
			TokenHeld bool `json:"token_held"`
			Mode      string
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(shown), &st); err != nil || len(st.Routes) != 1 || !st.Routes[0].TokenHeld || !strings.Contains(shown, "\n  ") {
		t.Errorf("the status shown (%v), want formatted JSON with token_held true:\n%s", err, shown)
	}
	if harness.Eval[int](b, `document.getElementById("route-status-json").children.length`) != 0 {
		t.Error("the status is shown as HTML, not text")
	}
	b.Screenshot("route-status")
	everywhere := func() map[string]string {
		return map[string]string{
			"the page's URL": harness.Eval[string](b, `location.href`),
			"the storage":    harness.Eval[string](b, `JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie`),
			"the console":    text(b.Console()),
			"a URL":          text(b.URLs()),
		}
	}
	for where, text := range everywhere() {
		if strings.Contains(text, statusToken) {
			t.Errorf("the status token is in %s", where)
		}
	}

	// A page from another origin: no CORS, so no status, whatever the token.
	b.WaitLoaded(other.URL + "/web/")
	b.Run(10*time.Second, chromedp.Click(chromedp.ID("mode-worker")), chromedp.SetValue(chromedp.ID("worker-url"), w.URL+"/token"))
	if got := readStatus(statusToken, false); !strings.Contains(got, "ALLOWED_ORIGINS") || harness.Eval[bool](b, `!document.getElementById("route-status-json").hidden`) {
		t.Errorf("another origin: the page says %q, want no status and a word about ALLOWED_ORIGINS", got)
	}
	for where, text := range everywhere() {
		if strings.Contains(text, statusToken) {
			t.Errorf("another origin: the status token is in %s", where)
		}
	}
	t.Logf("status shown: %s", strings.Join(strings.Fields(shown), " "))
}
