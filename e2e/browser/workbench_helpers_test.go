//go:build !(js && wasm)

package browser_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// viewport is a screen the page is tried on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

// viewports: a laptop and a phone (iPhone 12-15 CSS pixels).
var viewports = []viewport{{"wide", 1280, 900, false}, {"phone", 390, 844, true}}

// emulate sets the tab's viewport.
func (f *fixture) emulate(vp viewport) {
	f.T.Helper()
	var opts []chromedp.EmulateViewportOption
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	f.Run(10*time.Second, chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

// scheme emulates prefers-color-scheme (dark or light).
func (f *fixture) scheme(name string) {
	f.T.Helper()
	_, err := chromedp.Call(f.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: name}},
	})
	if err != nil {
		f.T.Fatalf("emulating prefers-color-scheme %s: %v", name, err)
	}
}

// noHorizontalScroll fails when the page is wider than the viewport.
func (f *fixture) noHorizontalScroll(state string) {
	f.T.Helper()
	if w := harness.Eval[int](f.Tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		f.T.Errorf("%s: the page is %d px wider than the screen (horizontal scroll)", state, w)
	}
}

var axeSource = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile(harness.Path("web", "node_modules", "axe-core", "axe.min.js"))
})

// axeViolation is the part of an axe-core result the tests report.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core (from web/node_modules, injected through the DevTools
// protocol, which the page's CSP does not govern) in the light and the
// dark colour scheme, failing on serious or critical violations.
func (f *fixture) axe(state string) {
	f.T.Helper()
	src, err := axeSource()
	if err != nil {
		harness.Require(f.T, "axe-core", "web/node_modules/axe-core/axe.min.js (cd web && npm ci): "+err.Error())
		return
	}
	if !harness.Eval[bool](f.Tab, `typeof window.axe === "object"`) {
		harness.Eval[bool](f.Tab, string(src)+"\n;true")
	}
	defer f.scheme("light")
	for _, scheme := range []string{"light", "dark"} {
		f.scheme(scheme)
		raw := harness.Eval[string](f.Tab, `axe.run(document, { resultTypes: ["violations"] }).then((r) => JSON.stringify({
			passes: r.passes.length,
			violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + (n.failureSummary ?? "").replace(/\s+/g, " ")) })) }))`)
		var res struct {
			Passes     int
			Violations []axeViolation
		}
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			f.T.Fatalf("axe result %q: %v", raw, err)
		}
		if res.Passes < 10 {
			f.T.Errorf("axe (%s, %s scheme): %d rules passed: did it run?", state, scheme, res.Passes)
		}
		for _, v := range res.Violations {
			msg := fmt.Sprintf("axe (%s, %s scheme): %s %s: %s\n\t%s", state, scheme, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n\t"))
			if v.Impact == "serious" || v.Impact == "critical" {
				f.T.Error(msg)
			} else {
				f.T.Log(msg)
			}
		}
	}
}

// grantClipboard lets the page read and write the clipboard.
func (f *fixture) grantClipboard() {
	f.T.Helper()
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(f.Ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: f.pageURL,
		}); err != nil {
			f.T.Fatalf("granting %s: %v", perm, err)
		}
	}
}

// copyWith clicks a copy button and returns what the clipboard then holds.
func (f *fixture) copyWith(id string) string {
	f.T.Helper()
	f.Run(10*time.Second, chromedp.Click(chromedp.ID(id)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).textContent === "Copied"`, id), chromedp.WithPollingTimeout(5*time.Second)))
	return harness.Eval[string](f.Tab, `navigator.clipboard.readText()`)
}

// click clicks the element with the id.
func (f *fixture) click(id string) {
	f.T.Helper()
	f.Run(10*time.Second, chromedp.Click(chromedp.ID(id)))
}

// pressEnter focuses the element with the id and presses Enter.
func (f *fixture) pressEnter(id string) {
	f.T.Helper()
	f.Run(10*time.Second, chromedp.Focus(chromedp.ID(id)), chromedp.KeyEvent("\r"))
}

// waitAnswer waits for the token or the error after a submission.
func (f *fixture) waitAnswer() (ok bool) {
	f.T.Helper()
	f.Run(30*time.Second, chromedp.Poll[chromedp.Void](`!document.getElementById("result").hidden || !document.getElementById("error").hidden`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)))
	return harness.Eval[bool](f.Tab, `!document.getElementById("result").hidden`)
}

func (f *fixture) focused() string {
	return harness.Eval[string](f.Tab, `document.activeElement?.id ?? ""`)
}

func (f *fixture) visible(id string) bool {
	return harness.Eval[bool](f.Tab, fmt.Sprintf(`(() => { const el = document.getElementById(%q); return !!el && el.checkVisibility() })()`, id))
}

// pageText is everything of the page a leak could be in except password
// inputs: its HTML, rendered text and the other inputs' values.
func (f *fixture) pageText() string {
	return harness.Eval[string](f.Tab, `[document.documentElement.outerHTML, document.body.innerText,
		[...document.querySelectorAll("input:not([type=password]), textarea, select")].map((e) => e.value).join("\n")].join("\n")`)
}

// tokenPlaces lists where token stands whole and unmasked in the page,
// sorted: "#id" (or a tag within one) for each innermost element whose
// text holds it, "…@name" for an attribute, "…=value" for an input's
// value (password inputs included: the list is of every place).
func (f *fixture) tokenPlaces(token string) []string {
	f.T.Helper()
	js := fmt.Sprintf(`((tok) => {
		const name = (el) => el.id ? "#" + el.id : el.tagName.toLowerCase() + " in " + (el.parentElement ? name(el.parentElement) : "document");
		const out = new Set();
		for (const el of document.querySelectorAll("*")) {
			if (el.textContent.includes(tok) && ![...el.children].some((c) => c.textContent.includes(tok))) out.add(name(el));
			for (const a of el.attributes) if (a.value.includes(tok)) out.add(name(el) + "@" + a.name);
			if (typeof el.value === "string" && el.value.includes(tok)) out.add(name(el) + "=value");
		}
		return [...out].sort().join("\n");
	})(%q)`, token)
	s := harness.Eval[string](f.Tab, js)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// tokensOnlyAt fails unless each token (by name) stands unmasked at
// exactly the places given (see tokenPlaces): the places where the page
// shows it, or where the user revealed it.
func (f *fixture) tokensOnlyAt(state string, want map[string][]string, tokens map[string]string) {
	f.T.Helper()
	for name, tok := range tokens {
		if len(tok) < 16 {
			f.T.Fatalf("%s: the %s %q is too short to search for", state, name, tok)
		}
		if got := f.tokenPlaces(tok); strings.Join(got, " ") != strings.Join(want[name], " ") {
			f.T.Errorf("%s: the %s stands unmasked at %q, want %q", state, name, got, want[name])
		}
	}
}
