//go:build !(js && wasm)

// Package bundlers_test installs the npm package the way an app does and
// builds the example apps of apps/ with each common bundler: `npm pack`
// of dist/ makes the tarball; each app gets it by `npm install <tarball>`,
// unpacked into node_modules/tokenhelper as a registry install leaves it,
// or (Vite's dev server) by `npm install <folder>`, a symlink; then Vite's
// dev server (Vite 8, and Vite 7, whose pre-bundling needs the recipe's
// optimizeDeps.exclude), `vite build`, webpack 5 and esbuild each serve
// the app on 127.0.0.1 and Chromium, opening it, must get a token from the
// in-process demo provider; a Node program does the same under Node. The
// recipes of web/README.md ("Install in an app") are these apps.
package bundlers_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/verify"
)

// pkgName is the package's name in web/src/package.json: what apps import.
const pkgName = "tokenhelper"

// clientSecret is the demo provider's client secret in these tests: not
// the demo default, so that finding it in a log is a leak, not a demo.
const clientSecret = "bundlers-client-secret-4Tq9w"

// layout is how an app gets the package.
type layout int

const (
	fromTarball layout = iota // npm install ./tokenhelper-<version>.tgz
	registry                  // the tarball unpacked into node_modules/tokenhelper, as from the registry
	fromFolder                // npm install <dist folder>: node_modules/tokenhelper is a symlink
)

// String names the layout for the test log.
func (l layout) String() string {
	return [...]string{"npm install of the tarball", "registry layout", "npm install of the folder"}[l]
}

// appCase is one app, installed one way, built or served one way.
type appCase struct {
	name   string // the subtest, also the scope the app asks for
	app    string // its folder under apps/
	layout layout
	dev    bool // Vite's dev server (npm run dev); else npm run build, dist/ served
	// tools is the folder under e2e/bundlers whose node_modules holds the
	// bundler: "" for e2e/bundlers itself (Vite 8, webpack, esbuild),
	// "vite7" for Vite 7.
	tools string
}

// browserCases are the apps Chromium opens.
var browserCases = []appCase{
	{name: "vite-dev-tarball", app: "vite", layout: fromTarball, dev: true},
	{name: "vite-dev-registry", app: "vite", layout: registry, dev: true},
	{name: "vite-dev-folder", app: "vite", layout: fromFolder, dev: true},
	{name: "vite7-dev-tarball", app: "vite", layout: fromTarball, dev: true, tools: "vite7"},
	{name: "vite-build", app: "vite", layout: fromTarball},
	{name: "webpack", app: "webpack", layout: fromTarball},
	{name: "esbuild", app: "esbuild", layout: registry},
}

// TestBundlers packs dist/, checks the tarball, and gets a token through
// every app: the Node program and each browser case in one Chromium.
func TestBundlers(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	t.Logf("set-up (npm pack, Chromium): %v", time.Since(start).Round(time.Millisecond))
	t.Run("tarball", e.checkTarball)
	t.Run("apps", func(t *testing.T) {
		t.Run("node", func(t *testing.T) {
			t.Parallel()
			e.runNode(t, appCase{name: "node", app: "node", layout: fromTarball})
		})
		for _, c := range browserCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				began := time.Now()
				url := e.serveApp(t, c)
				ready := time.Since(began)
				e.openInChromium(t, c, url)
				t.Logf("%s (%v): served in %v, token in Chromium after %v", c.name, c.layout,
					ready.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
			})
		}
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// options is what an app passes to requestToken: the demo provider's
// custom profile, client credentials, and scope as the case's name, so
// that the request it makes is told apart from the others'.
func (e *env) options(scope string) string {
	o, _ := json.Marshal(map[string]string{
		"provider": "custom", "tokenURL": e.demoURL + demoprovider.Path("custom"), "encoding": "form",
		"grantType": "client_credentials", "clientId": demoprovider.DefaultClientID,
		"clientSecret": clientSecret, "scope": scope,
	})
	return string(o)
}

// checkToken checks that token was issued to the app that asked for
// scope: signed by the demo provider with that scope, and the one answer
// to the one token request that asked for it, with the right secret.
func (e *env) checkToken(t *testing.T, scope, token string) jwtClaims {
	t.Helper()
	keys, err := verify.ParseJWKS(e.demo.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verify.JWT(token, keys, verify.Options{Issuer: demoprovider.Issuer, Audience: "custom"})
	if err != nil {
		t.Fatalf("the app's token: %v", err)
	}
	if claims["scope"] != scope || claims["sub"] != demoprovider.DefaultClientID {
		t.Errorf("token claims scope %v, sub %v; want %q, %q", claims["scope"], claims["sub"], scope, demoprovider.DefaultClientID)
	}
	var asked []demoprovider.Received
	for _, r := range e.demo.Requests() {
		if r.Fields["scope"] == scope {
			asked = append(asked, r)
		}
	}
	if len(asked) != 1 {
		t.Fatalf("the demo provider got %d token requests with scope %q, want 1", len(asked), scope)
	}
	r := asked[0]
	if r.Status != 200 || r.Profile != "custom" || r.ContentType != "application/x-www-form-urlencoded" ||
		r.Fields["client_secret"] != demoprovider.RedactedOK {
		t.Errorf("the token request: status %d, profile %q, %s, client_secret %s; want 200, custom, form, %s",
			r.Status, r.Profile, r.ContentType, r.Fields["client_secret"], demoprovider.RedactedOK)
	}
	return jwtClaims(claims)
}

// jwtClaims are a verified token's claims.
type jwtClaims map[string]any

// sameAs fails t unless decoded (the app's th.decodeJWT of the token,
// as JSON) holds the same jti: the module's decoder ran in the app.
func (c jwtClaims) sameAs(t *testing.T, decoded string) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(decoded), &d); err != nil {
		t.Fatalf("the app's decodeJWT output is not JSON (%v): %.200q", err, decoded)
	}
	if d["jti"] == nil || d["jti"] != c["jti"] {
		t.Errorf("the app decoded jti %v, the token has %v", d["jti"], c["jti"])
	}
}

// excerpt shortens output for an error message: its last lines.
func excerpt(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// prerequisites fails (skips without TOKENHELPER_E2E) when the build or
// the bundlers' npm install is missing.
func prerequisites(t *testing.T) {
	t.Helper()
	harness.SkipShort(t)
	harness.Require(t, "bundler", harness.MissingFiles(harness.Dist(), "(./build.sh build)",
		"package.json", "tokenhelper.mjs", "tokenhelper.wasm", "LICENSE")...)
	harness.Require(t, "bundler", harness.MissingFiles(harness.Path("e2e", "bundlers"), "(./build.sh build runs npm ci there)",
		"node_modules/.bin/vite", "node_modules/.bin/webpack", "node_modules/.bin/esbuild", "vite7/node_modules/.bin/vite")...)
	harness.Require(t, "bundler", missingCommands("npm", "node")...)
}
