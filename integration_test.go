package tokenhelper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/verify"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/fakeclock"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// These tests run the core against the demo provider over real HTTP and
// assert, on the server side, what it received.

const (
	demoSecret   = demoprovider.DefaultClientSecret
	demoPassword = demoprovider.DefaultPassword
)

// newClock is a fake Clock shared by the client and the demo provider.
func newClock() *fakeclock.Clock { return fakeclock.New(time.Now()) }

func startDemo(t *testing.T, now func() time.Time) (*demoprovider.Server, string) {
	t.Helper()
	srv := demoprovider.New(demoprovider.Options{Now: now})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

func demoConfig(base, profile string) tokenhelper.Config {
	return tokenhelper.Config{
		Provider: profile, TokenURL: base + demoprovider.Path(profile),
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoSecret,
	}
}

// assertNoSecret fails when any of texts holds the demo secret or password.
func assertNoSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, demoSecret) || strings.Contains(s, demoPassword) {
			t.Errorf("%s contains a secret: %s", what, s)
		}
	}
}

func TestDemoEveryProfileAndGrant(t *testing.T) {
	srv, base := startDemo(t, nil)
	keys, err := verify.ParseJWKS(srv.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	ok := demoprovider.RedactedOK
	cc := func(extra map[string]string) map[string]string {
		m := map[string]string{"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": ok}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	pw := func(extra map[string]string) map[string]string {
		m := cc(map[string]string{"grant_type": "password", "username": "demo-user", "password": ok})
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		cfg    func(tokenhelper.Config) tokenhelper.Config
		media  string
		fields map[string]string
		basic  bool
	}{
		{"alphaus-ripple client_credentials", nil, "multipart/form-data", cc(map[string]string{"scope": "openid"}), false},
		{"alphaus-ripple password", nil, "multipart/form-data", pw(map[string]string{"scope": "openid"}), false},
		{"alphaus-wave client_credentials", nil, "multipart/form-data", cc(map[string]string{"scope": "openid"}), false},
		{"alphaus-wave password", nil, "multipart/form-data", pw(map[string]string{"scope": "openid"}), false},
		{"aluma client_credentials", nil, "application/x-www-form-urlencoded", cc(nil), false},
		{"alluvial client_credentials", nil, "application/json", cc(map[string]string{"audience": "https://api.alluvial.finance"}), false},
		{"alluvial-staging client_credentials", nil, "application/json", cc(map[string]string{"audience": "https://api.staging.alluvial.finance"}), false},
		{"custom client_credentials", func(c tokenhelper.Config) tokenhelper.Config { c.Scope = "read"; return c }, "application/x-www-form-urlencoded", cc(map[string]string{"scope": "read"}), false},
		{"custom password", func(c tokenhelper.Config) tokenhelper.Config { c.Encoding = tokenhelper.EncodingJSON; return c }, "application/json", pw(nil), false},
		{"custom client_credentials", func(c tokenhelper.Config) tokenhelper.Config {
			c.Encoding, c.AuthStyle = tokenhelper.EncodingMultipart, tokenhelper.AuthBasic
			return c
		}, "multipart/form-data", map[string]string{"grant_type": "client_credentials"}, true},
	}
	for _, tt := range tests {
		profile, grant, _ := strings.Cut(tt.name, " ")
		t.Run(tt.name+fmt.Sprint(tt.basic), func(t *testing.T) {
			srv.Reset()
			cfg := demoConfig(base, profile)
			cfg.GrantType = grant
			if grant == "password" {
				cfg.Username, cfg.Password = demoprovider.DefaultUsername, demoPassword
			}
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			c := &tokenhelper.Client{Transport: nethttp.New(nil)}
			tok, err := c.Token(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := srv.Requests()
			if len(got) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(got))
			}
			r := got[0]
			if r.Method != "POST" || r.Status != 200 || r.ContentType != tt.media || r.BasicAuth != tt.basic {
				t.Errorf("server saw %s %s %q basic=%v → %d, want POST %q basic=%v → 200", r.Method, r.Path, r.ContentType, r.BasicAuth, r.Status, tt.media, tt.basic)
			}
			if !reflect.DeepEqual(r.Fields, tt.fields) {
				t.Errorf("server saw fields %v, want %v", r.Fields, tt.fields)
			}
			claims, err := verify.JWT(tok.AccessToken, keys, verify.Options{})
			if err != nil {
				t.Fatalf("access token does not verify against the demo JWKS: %v", err)
			}
			if claims["provider"] != profile {
				t.Errorf("got provider claim %v, want %s", claims["provider"], profile)
			}
			if tok.ExpiresIn != 86400 || tok.Remaining(time.Now()) < 23*time.Hour {
				t.Errorf("got expires_in %d, remaining %v", tok.ExpiresIn, tok.Remaining(time.Now()))
			}
			if strings.HasPrefix(profile, "alphaus") && (tok.IDToken == "" || tok.RefreshToken == "") {
				t.Errorf("alphaus answer lacks id_token or refresh_token: %v", tok)
			}
		})
	}
}

func TestDemoRefreshTokenGrant(t *testing.T) {
	_, base := startDemo(t, nil)
	c := &tokenhelper.Client{Transport: nethttp.New(nil)}
	first, err := c.Token(context.Background(), demoConfig(base, "custom"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := demoConfig(base, "custom")
	cfg.GrantType, cfg.RefreshToken = "refresh_token", first.RefreshToken
	second, err := c.Token(context.Background(), cfg)
	if err != nil || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh: got %v, %v", second, err)
	}
	// Refresh tokens are single use at the demo provider, as at many.
	if _, err := c.Token(context.Background(), cfg); !errors.Is(err, tokenhelper.ErrRejected) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reused refresh token: got %v, want invalid_grant", err)
	}
}

// TestDemoSingleFlightAndMargin is the cache acceptance: 100 goroutines →
// 1 request; again before the margin → 0 more; after it → 1 more, a
// refresh_token grant.
func TestDemoSingleFlightAndMargin(t *testing.T) {
	clk := newClock()
	srv, base := startDemo(t, clk.Now)
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil), Clock: clk}, demoConfig(base, "alphaus-ripple"))
	if err != nil {
		t.Fatal(err)
	}
	burst := func() *tokenhelper.Token {
		var wg sync.WaitGroup
		toks := make([]*tokenhelper.Token, 100)
		for i := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := src.Token(context.Background())
				if err != nil {
					t.Error(err)
				}
				toks[i] = tok
			}()
		}
		wg.Wait()
		for _, tok := range toks[1:] {
			if tok == nil || tok.AccessToken != toks[0].AccessToken {
				t.Fatal("callers got different tokens")
			}
		}
		return toks[0]
	}
	first := burst()
	if n := srv.Count(); n != 1 {
		t.Fatalf("100 goroutines: provider served %d requests, want 1", n)
	}
	clk.Advance(24*time.Hour - 61*time.Second) // margin for 24 h: 60 s
	if tok := burst(); tok.AccessToken != first.AccessToken || srv.Count() != 1 {
		t.Fatalf("before the margin: provider served %d requests, want still 1", srv.Count())
	}
	clk.Advance(2 * time.Second)
	// Inside the margin a caller gets the held token at once while one
	// renewal runs in the background.
	if tok, err := src.Token(context.Background()); err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("inside the margin: got %v, %v; want the held token at once", tok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tok, _ := src.Token(context.Background()); tok.AccessToken == first.AccessToken; tok, _ = src.Token(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatal("inside the margin: the background renewal never gave a new token")
		}
		time.Sleep(time.Millisecond)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[1].Fields["grant_type"] != "refresh_token" || reqs[1].Fields["refresh_token"] != demoprovider.RedactedOK {
		t.Fatalf("after the margin: provider saw %d requests, last %v; want 2, a valid refresh_token grant", len(reqs), reqs[len(reqs)-1].Fields)
	}
}

// TestDemoFaults: each way a provider fails gives its typed error, and no
// error text, %+v rendering or provider log holds the secret or password.
func TestDemoFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   *demoprovider.Fault
		secret  string
		timeout time.Duration
		kind    error
		code    string
		status  int
		calls   int
	}{
		{name: "wrong secret", secret: "wrong-" + demoSecret, kind: tokenhelper.ErrRejected, code: "invalid_client", status: 401, calls: 1},
		{name: "500 then 200", fault: &demoprovider.Fault{Kind: "status", Status: 500}, calls: 2},
		{name: "500 three times", fault: &demoprovider.Fault{Kind: "status", Status: 500, Times: 3}, kind: tokenhelper.ErrRejected, code: "server_error", status: 500, calls: 3},
		{name: "429 with Retry-After then 200", fault: &demoprovider.Fault{Kind: "status", Status: 429, RetryAfter: 2}, calls: 2},
		{name: "HTML error page", fault: &demoprovider.Fault{Kind: "html", Status: 502, Times: 3}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 502, calls: 3},
		{name: "garbage", fault: &demoprovider.Fault{Kind: "garbage"}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 200, calls: 1},
		{name: "truncated JSON", fault: &demoprovider.Fault{Kind: "truncated"}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 200, calls: 1},
		{name: "huge body", fault: &demoprovider.Fault{Kind: "huge"}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 200, calls: 1},
		{name: "no access_token", fault: &demoprovider.Fault{Kind: "no_access_token"}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 200, calls: 1},
		{name: "negative expires_in", fault: &demoprovider.Fault{Kind: "bad_expires"}, kind: tokenhelper.ErrBadResponse, code: "bad_response", status: 200, calls: 1},
		{name: "slow beyond the timeout", fault: &demoprovider.Fault{Kind: "slow", Delay: 2 * time.Second, Times: 3}, timeout: 100 * time.Millisecond, kind: tokenhelper.ErrTimeout, code: "timeout", calls: 3},
		{name: "connection dropped", fault: &demoprovider.Fault{Kind: "drop", Times: 3}, kind: tokenhelper.ErrNetwork, code: "network", calls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, base := startDemo(t, nil)
			if tt.fault != nil {
				if err := srv.Fail(*tt.fault); err != nil {
					t.Fatal(err)
				}
			}
			cfg := demoConfig(base, "alphaus-wave")
			cfg.GrantType, cfg.Username, cfg.Password = "password", demoprovider.DefaultUsername, demoPassword
			if tt.secret != "" {
				cfg.ClientSecret = tt.secret
			}
			c := &tokenhelper.Client{Transport: nethttp.New(nil), Clock: newClock(), Timeout: tt.timeout}
			tok, err := c.Token(context.Background(), cfg)
			if n := srv.Count(); n != tt.calls {
				t.Errorf("provider saw %d requests, want %d", n, tt.calls)
			}
			log, _ := json.Marshal(srv.Requests())
			assertNoSecret(t, "the provider's request log", string(log))
			if tt.kind == nil {
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("got %v, want a token", err)
				}
				return
			}
			var e *tokenhelper.Error
			if !errors.Is(err, tt.kind) || !errors.As(err, &e) {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
			if e.Code != tt.code || e.Status != tt.status {
				t.Errorf("got code %q status %d, want %q %d (%v)", e.Code, e.Status, tt.code, tt.status, err)
			}
			assertNoSecret(t, "the error", err.Error(), fmt.Sprintf("%+v %#v", err, err), e.Excerpt, e.Description)
		})
	}
}

func TestDemoProviderDown(t *testing.T) {
	ts := httptest.NewServer(demoprovider.New(demoprovider.Options{}))
	base := ts.URL
	ts.Close()
	c := &tokenhelper.Client{Transport: nethttp.New(nil), Clock: newClock()}
	_, err := c.Token(context.Background(), demoConfig(base, "aluma"))
	var e *tokenhelper.Error
	if !errors.Is(err, tokenhelper.ErrNetwork) || !errors.As(err, &e) || !e.Temporary() {
		t.Fatalf("got %v, want a temporary ErrNetwork", err)
	}
	assertNoSecret(t, "the error", err.Error())
}

// TestDemoCatchesWrongFormats proves the demo provider is strict enough to
// catch a client speaking the wrong dialect: each profile's endpoint gets
// the other two encodings and refuses them.
func TestDemoCatchesWrongFormats(t *testing.T) {
	srv, base := startDemo(t, nil)
	for _, profile := range []string{"alphaus-ripple", "aluma", "alluvial"} {
		for _, enc := range []tokenhelper.Encoding{tokenhelper.EncodingMultipart, tokenhelper.EncodingForm, tokenhelper.EncodingJSON} {
			p, _ := tokenhelper.LookupProvider(profile)
			if enc == p.Encoding {
				continue
			}
			cfg := tokenhelper.Config{Provider: "custom", TokenURL: base + demoprovider.Path(profile), Encoding: enc,
				ClientID: demoprovider.DefaultClientID, ClientSecret: demoSecret, Scope: p.Scope, Audience: p.Audience}
			c := &tokenhelper.Client{Transport: nethttp.New(nil)}
			_, err := c.Token(context.Background(), cfg)
			var e *tokenhelper.Error
			if !errors.As(err, &e) || e.Code != "invalid_request" || e.Status != 400 {
				t.Errorf("%s sent %v: got %v, want 400 invalid_request", profile, enc, err)
			}
		}
	}
	// Auth0 refuses a token request without an audience.
	cfg := tokenhelper.Config{Provider: "custom", TokenURL: base + demoprovider.Path("alluvial"), Encoding: tokenhelper.EncodingJSON,
		ClientID: demoprovider.DefaultClientID, ClientSecret: demoSecret}
	_, err := (&tokenhelper.Client{Transport: nethttp.New(nil)}).Token(context.Background(), cfg)
	if !strings.Contains(fmt.Sprint(err), "access_denied") {
		t.Errorf("no audience: got %v, want access_denied", err)
	}
	_ = srv
}
