//go:build unix

package workere2e_test

// Helpers of the mode mint end-to-end test (mint_e2e_test.go): tokens made
// or changed by the test, calls from outside the browser, and reading
// values out of the page.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/e2e/harness"
)

// dotenvQuoted writes a multi-line value (a PEM key) as one double-quoted
// .dev.vars line, where wrangler's dotenv turns \n back into newlines.
func dotenvQuoted(v string) string {
	return `"` + strings.ReplaceAll(strings.TrimSpace(v), "\n", `\n`) + `"`
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// mintFor gets a minted token for origin from outside a browser (a script
// can send any Origin).
func mintFor(ctx context.Context, t *testing.T, workerURL, origin string) string {
	t.Helper()
	status, _, body, err := post(ctx, http.DefaultClient, workerURL, origin)
	var m struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || status != 200 || json.Unmarshal(body, &m) != nil || m.AccessToken == "" {
		t.Fatalf("POST /token for %s: %d %s %v", origin, status, body, err)
	}
	return m.AccessToken
}

// callAPI sends GET to a worker's /api/ URL from outside a browser.
func callAPI(ctx context.Context, t *testing.T, u, origin, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// resign returns tok with the same claims and kid, its header changed by
// set, signed with key by the header's algorithm (unsigned for "none").
func resign(t *testing.T, tok string, set map[string]any, key any) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		header[k] = v
	}
	hb, _ := json.Marshal(header)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1]
	if header["alg"] == "none" {
		return input + "."
	}
	sig, err := jwt.GetSigningMethod(header["alg"].(string)).Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// claimTime reads a NumericDate claim of a token without verifying it.
func claimTime(t *testing.T, tok, name string) time.Time {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	n, _ := c[name].(float64)
	return time.Unix(int64(n), 0)
}

// browserCookies returns every cookie the browser holds for the URLs.
func browserCookies(t *testing.T, b *harness.Tab, urls ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: urls})
	})
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(res.Cookies)
	return string(b2)
}

func inText(text string) func(string) []string {
	return func(s string) []string {
		if strings.Contains(text, s) {
			return []string{"found"}
		}
		return nil
	}
}
