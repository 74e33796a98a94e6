package demoprovider_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

func TestPath(t *testing.T) {
	want := map[string]string{
		"alphaus-ripple":   "/alphaus-ripple/ripple/access_token",
		"alphaus-wave":     "/alphaus-wave/access_token",
		"aluma":            "/aluma/oauth/token",
		"alluvial":         "/alluvial/oauth/token",
		"alluvial-staging": "/alluvial-staging/oauth/token",
		"custom":           "/custom/token",
		"nope":             "",
	}
	for profile, path := range want {
		if got := demoprovider.Path(profile); got != path {
			t.Errorf("Path(%q) = %q, want %q", profile, got, path)
		}
	}
	if got := len(demoprovider.Profiles()); got != 6 {
		t.Errorf("Profiles() has %d entries, want 6", got)
	}
}

// TestProfilesAccept sends each profile its documented format and checks
// the answer and the signed tokens.
func TestProfilesAccept(t *testing.T) {
	user := func(profile string) map[string]string {
		return with(clientFields(profile), "grant_type", "password",
			"username", demoprovider.DefaultUsername, "password", testPassword)
	}
	tests := []struct {
		name      string
		profile   string
		enc       string
		fields    map[string]string
		mods      []func(*http.Request)
		tokenType string
		sub, aud  string
		scope     string // the scope answered and in the token
		idToken   bool
		refresh   bool
		wantBasic bool
	}{
		{name: "ripple client_credentials", profile: "alphaus-ripple", enc: encMultipart,
			fields: clientFields("alphaus-ripple"), tokenType: "Bearer", sub: "demo-client", aud: "alphaus-ripple",
			idToken: true, refresh: true},
		{name: "ripple password", profile: "alphaus-ripple", enc: encMultipart,
			fields: user("alphaus-ripple"), tokenType: "Bearer", sub: "demo-user", aud: "alphaus-ripple",
			idToken: true, refresh: true},
		{name: "wave client_credentials", profile: "alphaus-wave", enc: encMultipart,
			fields: clientFields("alphaus-wave"), tokenType: "Bearer", sub: "demo-client", aud: "alphaus-wave",
			idToken: true, refresh: true},
		{name: "wave password", profile: "alphaus-wave", enc: encMultipart,
			fields: user("alphaus-wave"), tokenType: "Bearer", sub: "demo-user", aud: "alphaus-wave",
			idToken: true, refresh: true},
		{name: "aluma", profile: "aluma", enc: encForm,
			fields: clientFields("aluma"), tokenType: "bearer", sub: "demo-client", aud: "aluma"},
		{name: "alluvial", profile: "alluvial", enc: encJSON,
			fields: clientFields("alluvial"), tokenType: "Bearer", sub: "demo-client",
			aud: "https://api.alluvial.finance", scope: "read:portfolio read:positions"},
		{name: "alluvial-staging", profile: "alluvial-staging", enc: encJSON,
			fields: clientFields("alluvial-staging"), tokenType: "Bearer", sub: "demo-client",
			aud: "https://api.staging.alluvial.finance", scope: "read:portfolio read:positions"},
		{name: "custom form", profile: "custom", enc: encForm,
			fields: with(clientFields("custom"), "scope", "read write"), tokenType: "Bearer",
			sub: "demo-client", aud: "custom", scope: "read write", refresh: true},
		{name: "custom multipart", profile: "custom", enc: encMultipart,
			fields: clientFields("custom"), tokenType: "Bearer", sub: "demo-client", aud: "custom", refresh: true},
		{name: "custom json with audience", profile: "custom", enc: encJSON,
			fields: with(clientFields("custom"), "audience", "https://api.example"), tokenType: "Bearer",
			sub: "demo-client", aud: "https://api.example", refresh: true},
		{name: "custom basic auth", profile: "custom", enc: encForm,
			fields: map[string]string{"grant_type": "client_credentials", "scope": "openid read"},
			mods:   []func(*http.Request){basic(demoprovider.DefaultClientID, testSecret)}, wantBasic: true,
			tokenType: "Bearer", sub: "demo-client", aud: "custom", scope: "openid read", idToken: true, refresh: true},
		{name: "custom basic auth with client_id in body", profile: "custom", enc: encJSON,
			fields: map[string]string{"grant_type": "client_credentials", "client_id": "demo-client"},
			mods:   []func(*http.Request){basic(demoprovider.DefaultClientID, testSecret)}, wantBasic: true,
			tokenType: "Bearer", sub: "demo-client", aud: "custom", refresh: true},
		{name: "custom password", profile: "custom", enc: encJSON,
			fields: user("custom"), tokenType: "Bearer", sub: "demo-user", aud: "custom", refresh: true},
	}
	e := newEnv(t, demoprovider.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.post(tt.profile, tt.enc, tt.fields, tt.mods...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			for h, want := range map[string]string{
				"Content-Type":                "application/json",
				"Cache-Control":               "no-store",
				"Pragma":                      "no-cache",
				"Access-Control-Allow-Origin": "*",
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s %q, want %q", h, got, want)
				}
			}
			if got := r.str("token_type"); got != tt.tokenType {
				t.Errorf("token_type %q, want %q", got, tt.tokenType)
			}
			if got, _ := r.json["expires_in"].(float64); got != 86400 {
				t.Errorf("expires_in %v, want 86400", r.json["expires_in"])
			}
			if got := r.str("scope"); got != tt.scope {
				t.Errorf("scope %q, want %q", got, tt.scope)
			}
			if got := r.str("id_token") != ""; got != tt.idToken {
				t.Errorf("id_token present %v, want %v", got, tt.idToken)
			}
			if got := r.str("refresh_token") != ""; got != tt.refresh {
				t.Errorf("refresh_token present %v, want %v", got, tt.refresh)
			}

			claims, header := e.verify(r.str("access_token"))
			if header["kid"] == nil || header["alg"] != "EdDSA" {
				t.Errorf("header %v", header)
			}
			wantClaims := map[string]any{
				"iss": demoprovider.Issuer, "sub": tt.sub, "aud": tt.aud,
				"provider": tt.profile, "client_id": "demo-client",
				"iat": float64(testClock.Unix()), "exp": float64(testClock.Unix() + 86400),
			}
			if tt.scope != "" || tt.profile == "alphaus-ripple" || tt.profile == "alphaus-wave" {
				want := tt.scope
				if want == "" {
					want = "openid"
				}
				wantClaims["scope"] = want
			}
			for k, want := range wantClaims {
				if claims[k] != want {
					t.Errorf("claim %s = %v, want %v", k, claims[k], want)
				}
			}
			if jti, _ := claims["jti"].(string); len(jti) < 16 {
				t.Errorf("jti %q", jti)
			}
			if tt.idToken {
				idc, _ := e.verify(r.str("id_token"))
				if idc["name"] != tt.sub || idc["sub"] != tt.sub || idc["aud"] != "demo-client" || idc["provider"] != tt.profile {
					t.Errorf("id_token claims %v", idc)
				}
				if idc["jti"] == claims["jti"] {
					t.Error("id_token reuses the access token's jti")
				}
			}

			rec := e.last()
			wantCT := map[string]string{encMultipart: "multipart/form-data", encForm: "application/x-www-form-urlencoded", encJSON: "application/json"}[tt.enc]
			if rec.Profile != tt.profile || rec.Method != "POST" || rec.Path != demoprovider.Path(tt.profile) ||
				rec.ContentType != wantCT || rec.Status != 200 || rec.Error != "" || rec.BasicAuth != tt.wantBasic {
				t.Errorf("logged %+v", rec)
			}
			if rec.Fields["grant_type"] != tt.fields["grant_type"] {
				t.Errorf("logged grant_type %q", rec.Fields["grant_type"])
			}
			if _, ok := tt.fields["client_secret"]; ok && rec.Fields["client_secret"] != demoprovider.RedactedOK {
				t.Errorf("logged client_secret %q, want %q", rec.Fields["client_secret"], demoprovider.RedactedOK)
			}
			if _, ok := tt.fields["password"]; ok && rec.Fields["password"] != demoprovider.RedactedOK {
				t.Errorf("logged password %q", rec.Fields["password"])
			}
		})
	}
}

func TestAlluvialAudience(t *testing.T) {
	e := newEnv(t, demoprovider.Options{Audiences: []string{"https://api.extra.example"}})
	tests := []struct {
		name, profile, audience string
		status                  int
	}{
		{"missing", "alluvial", "", http.StatusForbidden},
		{"missing staging", "alluvial-staging", "", http.StatusForbidden},
		{"staging audience on production", "alluvial", "https://api.staging.alluvial.finance", http.StatusForbidden},
		{"production audience on staging", "alluvial-staging", "https://api.alluvial.finance", http.StatusForbidden},
		{"unknown", "alluvial", "https://evil.example", http.StatusForbidden},
		{"trailing slash", "alluvial", "https://api.alluvial.finance/", http.StatusForbidden},
		{"extra configured audience", "alluvial", "https://api.extra.example", http.StatusOK},
		{"extra configured audience staging", "alluvial-staging", "https://api.extra.example", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.post(tt.profile, encJSON, with(clientFields(tt.profile), "audience", tt.audience))
			if tt.status == http.StatusOK {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if claims, _ := e.verify(r.str("access_token")); claims["aud"] != tt.audience {
					t.Errorf("aud %v", claims["aud"])
				}
				return
			}
			assertError(t, r, tt.status, "access_denied")
			if tt.audience != "" && strings.Contains(string(r.body), tt.audience) {
				t.Errorf("error echoes the audience sent: %s", r.body)
			}
		})
	}
	// A non-string audience is a malformed request, not a denial.
	t.Run("non-string", func(t *testing.T) {
		e.t = t
		r := e.postRaw(demoprovider.Path("alluvial"), "application/json",
			[]byte(`{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"`+testSecret+`","audience":["https://api.alluvial.finance"]}`))
		assertError(t, r, http.StatusBadRequest, "invalid_request")
	})
}

func TestLifetimeAndClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newEnv(t, demoprovider.Options{Lifetime: 90 * time.Minute, Now: func() time.Time { return at }})
	r := e.post("aluma", encForm, clientFields("aluma"))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got, _ := r.json["expires_in"].(float64); got != 5400 {
		t.Errorf("expires_in %v, want 5400", r.json["expires_in"])
	}
	// Read the claims without verifying exp (the clock is in the future).
	parts := strings.Split(r.str("access_token"), ".")
	if len(parts) != 3 {
		t.Fatal("not a JWT")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		t.Fatal(err)
	}
	if claims["iat"] != float64(at.Unix()) || claims["exp"] != float64(at.Unix()+5400) {
		t.Errorf("iat %v exp %v", claims["iat"], claims["exp"])
	}
}
