//go:build unix

package standardse2e_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokenhelper/tokenhelper/e2e/harness"
	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

// recordSent keeps, in window.__sent, every fetch the page makes (URL,
// method, headers, body) and every BroadcastChannel message, as JSON, so
// that the test can search what left the module for keys and secrets.
const recordSent = `window.__sent = [];
(() => {
  const f = window.fetch;
  window.fetch = async function (input, init) {
    const r = new Request(input, init);
    window.__sent.push(JSON.stringify({ url: r.url, method: r.method, headers: [...r.headers], body: await r.clone().text() }));
    return f.call(this, input, init);
  };
  const post = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (m) { window.__sent.push(JSON.stringify(m)); return post.call(this, m); };
})();`

// TestModuleAssertionsAtOIDCProvider: the JS module in Chromium, given
// only oidc-provider's issuer, discovers its token endpoint through the
// page's fetch and gets tokens with private_key_jwt (RS256, ES256 and
// EdDSA PKCS #8 keys, signed with WebCrypto) and client_secret_jwt, from
// requestToken and from a shared source; another key is refused by the
// server, and an issuer the document does not name is refused before any
// token request. The keys and the secret are in nothing the page sent,
// broadcast, stored or logged.
func TestModuleAssertionsAtOIDCProvider(t *testing.T) {
	chromium, dist := harness.Chromium(t), harness.Dist()
	harness.Require(t, "Chromium", harness.MissingFiles(dist, "(./build.sh build)", "web/index.html", "web/tokenhelper.wasm")...)
	site := httptest.NewServer(devserver.Handler(dist))
	t.Cleanup(site.Close)
	t.Setenv("CORS_ORIGIN", site.URL) // read by startOIDC's server.mjs
	p := startOIDC(t)
	keys := clientKeys(t)

	tab := harness.NewTab(t, chromium)
	if _, err := chromedp.Call(tab.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordSent}); err != nil {
		t.Fatal(err)
	}
	tab.WaitLoaded(site.URL + "/web/")
	js := func(format string, args ...any) string {
		t.Helper()
		return harness.Eval[string](tab, fmt.Sprintf(`(async () => {
			const th = await (await import("/web/tokenhelper.mjs")).load();
			try { return await (async () => { %s })(); } catch (e) { return "error:" + e.code + " " + e.message; }
		})()`, fmt.Sprintf(format, args...)))
	}
	opts := func(m map[string]string) string {
		m["issuer"], m["resource"] = p.issuer, resource
		b, _ := json.Marshal(m)
		return string(b)
	}

	t.Run("discover", func(t *testing.T) {
		got := js(`return JSON.stringify(await th.discover(%q))`, p.issuer)
		var m struct {
			Issuer        string   `json:"issuer"`
			TokenEndpoint string   `json:"token_endpoint"`
			Methods       []string `json:"token_endpoint_auth_methods_supported"`
		}
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if m.Issuer != p.issuer || m.TokenEndpoint != p.issuer+"/token" || !strings.Contains(strings.Join(m.Methods, " "), "private_key_jwt") {
			t.Errorf("metadata %+v", m)
		}
	})

	pems := []string{clientSecret}
	for _, k := range append([]keyPair{keys.rsa}, keys.keys...) {
		pems = append(pems, k.pem)
		t.Run("private_key_jwt "+k.alg, func(t *testing.T) {
			o := opts(map[string]string{"clientId": clientID + "-pkjwt", "authStyle": "private_key_jwt", "clientAssertionKey": k.pem, "clientAssertionKid": k.kid})
			tok := js(`return (await th.requestToken(%s)).access_token`, o)
			if strings.HasPrefix(tok, "error:") {
				t.Fatalf("requestToken: %s", tok)
			}
			p.audience(t, tok, resource)
			shown := js(`return JSON.stringify(await th.clientAssertion(%s))`, o)
			if !strings.Contains(shown, `"alg":"`+k.alg+`"`) || !strings.Contains(shown, `"aud":"`+p.issuer+`"`) {
				t.Errorf("clientAssertion: %s", shown)
			}
			src := js(`const s = th.createTokenSource(%s); const t = await s.getToken(); s.close(); return t.access_token`, o)
			if strings.HasPrefix(src, "error:") {
				t.Fatalf("source: %s", src)
			}
			p.audience(t, src, resource)
		})
	}

	t.Run("client_secret_jwt", func(t *testing.T) {
		tok := js(`return (await th.requestToken(%s)).access_token`,
			opts(map[string]string{"clientId": clientID + "-csjwt", "authStyle": "client_secret_jwt", "clientSecret": clientSecret}))
		if strings.HasPrefix(tok, "error:") {
			t.Fatalf("requestToken: %s", tok)
		}
		p.audience(t, tok, resource)
	})

	t.Run("another key refused", func(t *testing.T) {
		// The RSA key under the EC key's kid: a key the server does not hold.
		got := js(`return (await th.requestToken(%s)).access_token`,
			opts(map[string]string{"clientId": clientID + "-pkjwt", "authStyle": "private_key_jwt", "clientAssertionKey": keys.rsa.pem, "clientAssertionKid": "es"}))
		if !strings.HasPrefix(got, "error:invalid_client") {
			t.Errorf("got %.80q, want error:invalid_client", got)
		}
	})

	t.Run("mix-up: another issuer's document refused", func(t *testing.T) {
		before := harness.Eval[int](tab, `window.__sent.filter((s) => s.includes('"method":"POST"')).length`)
		other := strings.Replace(p.issuer, "127.0.0.1", "localhost", 1)
		o := opts(map[string]string{"clientId": clientID + "-csjwt", "authStyle": "client_secret_jwt", "clientSecret": clientSecret})
		o = strings.Replace(o, p.issuer, other, 1)
		got := js(`return (await th.requestToken(%s)).access_token`, o)
		if !strings.HasPrefix(got, "error:bad_response") || !strings.Contains(got, "is not the configured issuer") {
			t.Errorf("got %.120q, want the document refused", got)
		}
		if after := harness.Eval[int](tab, `window.__sent.filter((s) => s.includes('"method":"POST"')).length`); after != before {
			t.Errorf("%d token requests sent after a refused document, want 0", after-before)
		}
	})

	t.Run("no key or secret sent, broadcast, stored or logged", func(t *testing.T) {
		sent := harness.Eval[[]string](tab, `window.__sent`)
		storage := harness.Eval[string](tab, `(async () => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage },
			idb: (await indexedDB.databases()).map((d) => d.name), cookie: document.cookie }))()`)
		locks := harness.Eval[string](tab, `navigator.locks.query().then((q) => JSON.stringify(q))`)
		places := append(append(sent, storage, locks), tab.Console()...)
		posts, hits := 0, 0
		for _, s := range sent {
			if strings.Contains(s, `"method":"POST"`) {
				posts++
			}
		}
		if posts < 6 {
			t.Fatalf("only %d POSTs recorded: the recorder does not see the module's fetches", posts)
		}
		for _, s := range places {
			for _, secret := range pems {
				// A line from the middle of a PEM, or the secret itself.
				needle := secret
				if lines := strings.Split(secret, "\n"); len(lines) > 3 {
					needle = lines[len(lines)/2]
				}
				if strings.Contains(s, needle) {
					hits++
					t.Errorf("a key or secret in: %.200s", s)
				}
			}
		}
		t.Logf("%d requests and messages (%d POSTs), storage, lock names and %d console lines searched for %d keys and secrets: %d hits",
			len(sent), posts, len(tab.Console()), len(pems), hits)
	})
}
