package demoprovider_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestRejectsOtherEncodings proves each profile refuses every encoding but
// its own, naming the one it expects.
func TestRejectsOtherEncodings(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	expected := map[string]string{
		encMultipart: "multipart/form-data", encForm: "application/x-www-form-urlencoded", encJSON: "application/json",
	}
	for _, profile := range demoprovider.Profiles() {
		if profile == "custom" {
			continue
		}
		native := nativeEncoding(profile)
		for _, enc := range []string{encMultipart, encForm, encJSON} {
			if enc == native {
				continue
			}
			t.Run(profile+"/"+enc, func(t *testing.T) {
				e.t = t
				r := e.post(profile, enc, clientFields(profile))
				assertError(t, r, http.StatusBadRequest, "invalid_request")
				if !strings.Contains(r.str("error_description"), expected[native]) {
					t.Errorf("description %q does not name %s", r.str("error_description"), expected[native])
				}
				if rec := e.last(); rec.ContentType != expected[enc] || rec.Status != 400 || rec.Error != "invalid_request" {
					t.Errorf("logged %+v", rec)
				}
			})
		}
	}
	// Content types no profile accepts, including the custom one.
	body, _ := encode(t, encForm, clientFields("custom"))
	for _, ct := range []string{"", "text/plain", "multipart/mixed; boundary=x", "application/jsonx", "application/x-www-form-urlencoded;;", "multipart/form-data"} {
		for _, profile := range demoprovider.Profiles() {
			t.Run(profile+"/"+ct, func(t *testing.T) {
				e.t = t
				r := e.postRaw(demoprovider.Path(profile), ct, body)
				assertError(t, r, http.StatusBadRequest, "invalid_request")
			})
		}
	}
}

// TestCommonErrors covers the RFC 6749 5.2 rules shared by every profile.
func TestCommonErrors(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	ripple := clientFields("alphaus-ripple")
	rippleBody, rippleCT := encode(t, encMultipart, ripple)
	custom := clientFields("custom")
	multi := func(parts string) []byte {
		return []byte(strings.ReplaceAll(parts, "\n", "\r\n"))
	}
	tests := []struct {
		name   string
		run    func() *result
		status int
		code   string
	}{
		{"missing grant_type", func() *result { return e.post("custom", encForm, with(custom, "grant_type", "")) }, 400, "invalid_request"},
		{"missing grant_type ripple", func() *result { return e.post("alphaus-ripple", encMultipart, with(ripple, "grant_type", "")) }, 400, "invalid_request"},
		{"unsupported grant", func() *result {
			return e.post("custom", encForm, with(custom, "grant_type", "authorization_code"))
		}, 400, "unsupported_grant_type"},
		{"unsupported grant aluma", func() *result {
			return e.post("aluma", encForm, with(clientFields("aluma"), "grant_type", "refresh_token"))
		}, 400, "unsupported_grant_type"},
		{"parameters in the query", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-ripple")+"?client_secret=x", rippleCT, rippleBody)
		}, 400, "invalid_request"},
		{"body over 64 KiB", func() *result {
			return e.post("custom", encForm, with(custom, "padding", strings.Repeat("a", 70<<10)))
		}, 413, "invalid_request"},
		{"body over 64 KiB, chunked", func() *result {
			body, ct := encode(t, encForm, with(custom, "padding", strings.Repeat("a", 70<<10)))
			return e.postRaw(demoprovider.Path("custom"), ct, body, func(r *http.Request) { r.ContentLength = -1 })
		}, 413, "invalid_request"},
		{"duplicate form parameter", func() *result {
			return e.postRaw(demoprovider.Path("aluma"), "application/x-www-form-urlencoded",
				[]byte("grant_type=client_credentials&client_id=demo-client&client_secret="+testSecret+"&client_id=demo-client"))
		}, 400, "invalid_request"},
		{"duplicate JSON member", func() *result {
			return e.postRaw(demoprovider.Path("alluvial"), "application/json",
				[]byte(`{"grant_type":"client_credentials","grant_type":"client_credentials","client_id":"demo-client","client_secret":"x","audience":"https://api.alluvial.finance"}`))
		}, 400, "invalid_request"},
		{"duplicate multipart field", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-ripple"), "multipart/form-data; boundary=XX", multi(`--XX
Content-Disposition: form-data; name="scope"

openid
--XX
Content-Disposition: form-data; name="scope"

openid
--XX--
`))
		}, 400, "invalid_request"},
		{"bad form escape", func() *result {
			return e.postRaw(demoprovider.Path("aluma"), "application/x-www-form-urlencoded", []byte("grant_type=%zz"))
		}, 400, "invalid_request"},
		{"bad JSON", func() *result {
			return e.postRaw(demoprovider.Path("alluvial"), "application/json", []byte(`{"grant_type":`))
		}, 400, "invalid_request"},
		{"JSON array", func() *result {
			return e.postRaw(demoprovider.Path("alluvial"), "application/json", []byte(`[{"grant_type":"client_credentials"}]`))
		}, 400, "invalid_request"},
		{"JSON trailing data", func() *result {
			return e.postRaw(demoprovider.Path("custom"), "application/json", []byte(`{"grant_type":"client_credentials"} {}`))
		}, 400, "invalid_request"},
		{"JSON non-string grant_type", func() *result {
			return e.postRaw(demoprovider.Path("custom"), "application/json", []byte(`{"grant_type":1}`))
		}, 400, "invalid_request"},
		{"JSON null client_id", func() *result {
			return e.postRaw(demoprovider.Path("alluvial"), "application/json", []byte(`{"grant_type":"client_credentials","client_id":null}`))
		}, 400, "invalid_request"},
		{"empty JSON body", func() *result {
			return e.postRaw(demoprovider.Path("alluvial"), "application/json", nil)
		}, 400, "invalid_request"},
		{"multipart without boundary", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-wave"), "multipart/form-data", rippleBody)
		}, 400, "invalid_request"},
		{"multipart with the wrong boundary", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-wave"), "multipart/form-data; boundary=nope", rippleBody)
		}, 400, "invalid_request"},
		{"truncated multipart", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-wave"), rippleCT, rippleBody[:len(rippleBody)-20])
		}, 400, "invalid_request"},
		{"multipart file part", func() *result {
			return e.postRaw(demoprovider.Path("alphaus-ripple"), "multipart/form-data; boundary=XX", multi(`--XX
Content-Disposition: form-data; name="grant_type"; filename="g.txt"

client_credentials
--XX--
`))
		}, 400, "invalid_request"},
		{"ripple scope missing", func() *result { return e.post("alphaus-ripple", encMultipart, with(ripple, "scope", "")) }, 400, "invalid_scope"},
		{"ripple scope other", func() *result {
			return e.post("alphaus-ripple", encMultipart, with(ripple, "scope", "openid profile"))
		}, 400, "invalid_scope"},
		{"ripple basic and body secret", func() *result {
			return e.post("alphaus-ripple", encMultipart, ripple, basic("demo-client", testSecret))
		}, 400, "invalid_request"},
		{"custom basic and body secret", func() *result {
			return e.post("custom", encForm, custom, basic("demo-client", testSecret))
		}, 400, "invalid_request"},
		{"custom basic with another body client_id", func() *result {
			return e.post("custom", encForm, map[string]string{"grant_type": "client_credentials", "client_id": "x"}, basic("demo-client", testSecret))
		}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := tt.run()
			assertError(t, r, tt.status, tt.code)
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
				t.Errorf("cache headers %v", r.header)
			}
			if rec := e.last(); rec.Status != tt.status || rec.Error != tt.code {
				t.Errorf("logged %+v", rec)
			}
		})
	}

	t.Run("method", func(t *testing.T) {
		e.t = t
		for _, profile := range demoprovider.Profiles() {
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				req, _ := http.NewRequest(m, e.ts.URL+demoprovider.Path(profile), nil)
				r := e.do(req)
				assertError(t, r, http.StatusMethodNotAllowed, "invalid_request")
				if got := r.header.Get("Allow"); got != "POST, OPTIONS" {
					t.Errorf("Allow %q", got)
				}
			}
		}
	})
}

func TestWrongClientCredentials(t *testing.T) {
	const wrong = "Wr0ng-S3cret-value-XYZ"
	e := newEnv(t, demoprovider.Options{})
	type tc struct {
		name, profile, enc string
		fields             map[string]string
		mods               []func(*http.Request)
		logged             string // the logged client_secret
	}
	var tests []tc
	for _, profile := range demoprovider.Profiles() {
		tests = append(tests,
			tc{name: profile + "/wrong secret", profile: profile, enc: nativeEncoding(profile),
				fields: with(clientFields(profile), "client_secret", wrong), logged: demoprovider.RedactedWrong},
			tc{name: profile + "/unknown client", profile: profile, enc: nativeEncoding(profile),
				fields: with(clientFields(profile), "client_id", "someone-else"), logged: demoprovider.RedactedOK},
			tc{name: profile + "/missing secret", profile: profile, enc: nativeEncoding(profile),
				fields: with(clientFields(profile), "client_secret", "")},
			tc{name: profile + "/missing client", profile: profile, enc: nativeEncoding(profile),
				fields: with(clientFields(profile), "client_id", "", "client_secret", "")},
		)
	}
	tests = append(tests,
		tc{name: "custom/basic wrong secret", profile: "custom", enc: encForm,
			fields: map[string]string{"grant_type": "client_credentials"}, mods: []func(*http.Request){basic("demo-client", wrong)}},
		tc{name: "custom/basic unknown client", profile: "custom", enc: encForm,
			fields: map[string]string{"grant_type": "client_credentials"}, mods: []func(*http.Request){basic("nobody", testSecret)}},
		tc{name: "custom/bearer instead of basic", profile: "custom", enc: encForm,
			fields: map[string]string{"grant_type": "client_credentials"},
			mods:   []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+wrong) }}},
		tc{name: "ripple/basic not accepted", profile: "alphaus-ripple", enc: encMultipart,
			fields: with(clientFields("alphaus-ripple"), "client_id", "", "client_secret", ""),
			mods:   []func(*http.Request){basic("demo-client", testSecret)}},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.post(tt.profile, tt.enc, tt.fields, tt.mods...)
			assertError(t, r, http.StatusUnauthorized, "invalid_client")
			if strings.Contains(string(r.body), wrong) {
				t.Errorf("answer echoes the secret sent: %s", r.body)
			}
			rec := e.last()
			if rec.Status != 401 || rec.Error != "invalid_client" {
				t.Errorf("logged %+v", rec)
			}
			if tt.logged != "" && rec.Fields["client_secret"] != tt.logged {
				t.Errorf("logged client_secret %q, want %q", rec.Fields["client_secret"], tt.logged)
			}
		})
	}
	stats := e.get(demoprovider.StatsPath)
	for _, s := range []string{wrong, testSecret} {
		if strings.Contains(string(stats.body), s) {
			t.Errorf("/_demo/stats holds a secret")
		}
		for _, rec := range e.srv.Requests() {
			for k, v := range rec.Fields {
				if strings.Contains(v, s) || strings.Contains(k, s) {
					t.Errorf("Requests() holds a secret in %s", k)
				}
			}
		}
	}
}
