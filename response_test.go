package tokenhelper

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// loadResponse reads a recorded answer from testdata/responses.
func loadResponse(t testing.TB, name string) (int, map[string]string, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "responses", name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	h := map[string]string{}
	for k := range resp.Header {
		h[strings.ToLower(k)] = resp.Header.Get(k)
	}
	return resp.StatusCode, h, body
}

func TestParseResponse(t *testing.T) {
	exp2100 := time.Unix(4102444800, 0)
	tests := []struct {
		file  string
		kind  error // nil: success
		code  string
		desc  string // substring of Description
		check func(t *testing.T, tok *Token, e *Error)
	}{
		{file: "alphaus_ok", check: func(t *testing.T, tok *Token, _ *Error) {
			if tok.IDToken == "" || tok.RefreshToken != "rt-1" || tok.ExpiresIn != 86400 || !tok.Expiry.Equal(testNow.Add(24*time.Hour)) {
				t.Errorf("got %+v", *tok)
			}
		}},
		{file: "aluma_ok", check: func(t *testing.T, tok *Token, _ *Error) {
			if tok.ExpiresIn != 86400 || tok.Type() != "Bearer" || tok.AccessToken != "opaque-aluma-token" {
				t.Errorf("got %+v", *tok)
			}
		}},
		{file: "alluvial_ok", check: func(t *testing.T, tok *Token, _ *Error) {
			if tok.Scope != "read:portfolio" {
				t.Errorf("got scope %q", tok.Scope)
			}
		}},
		{file: "jwt_no_expires_in", check: func(t *testing.T, tok *Token, _ *Error) {
			if !tok.Expiry.Equal(exp2100) || tok.ExpiresIn != 0 {
				t.Errorf("got expiry %v, want the exp claim %v", tok.Expiry, exp2100)
			}
		}},
		{file: "form_ok", check: func(t *testing.T, tok *Token, _ *Error) {
			if tok.AccessToken != "gho_abc" || tok.ExpiresIn != 3600 || tok.Scope != "repo" {
				t.Errorf("got %+v", *tok)
			}
		}},
		{file: "text_plain_json", check: func(t *testing.T, tok *Token, _ *Error) {
			if tok.ExpiresIn != 3600 {
				t.Errorf("got %+v", *tok)
			}
		}},
		{file: "error_with_200", kind: ErrRejected, code: "invalid_client", desc: "Client authentication failed"},
		{file: "invalid_client_401", kind: ErrRejected, code: "invalid_client", check: func(t *testing.T, _ *Token, e *Error) {
			if e.Status != 401 || e.URI != "https://docs.example/errors#invalid_client" || e.Temporary() {
				t.Errorf("got %+v", e)
			}
		}},
		{file: "invalid_grant_400", kind: ErrRejected, code: "invalid_grant"},
		{file: "rate_limited_429", kind: ErrRejected, code: "temporarily_unavailable", check: func(t *testing.T, _ *Token, e *Error) {
			if e.RetryAfter != 7*time.Second || !e.Temporary() {
				t.Errorf("got RetryAfter %v temporary %v, want 7s true", e.RetryAfter, e.Temporary())
			}
		}},
		{file: "html_502", kind: ErrBadResponse, code: CodeBadResponse, desc: "HTML", check: func(t *testing.T, _ *Token, e *Error) {
			if e.Status != 502 || !strings.HasPrefix(e.Excerpt, "<!DOCTYPE html>") || !e.Temporary() {
				t.Errorf("got %+v", e)
			}
		}},
		{file: "html_200_login_page", kind: ErrBadResponse, desc: "HTML"},
		{file: "server_error_500", kind: ErrBadResponse, desc: "without an RFC 6749 error"},
		{file: "truncated", kind: ErrBadResponse, desc: "invalid JSON", check: func(t *testing.T, _ *Token, e *Error) {
			if !strings.Contains(e.Error(), "unexpected end of JSON input") {
				t.Errorf("got %v", e)
			}
		}},
		{file: "garbage", kind: ErrBadResponse, desc: "invalid JSON"},
		{file: "missing_access_token", kind: ErrBadResponse, desc: "no access_token"},
		{file: "negative_expires_in", kind: ErrBadResponse, desc: "negative"},
		{file: "absurd_expires_in", kind: ErrBadResponse, desc: "absurdly large"},
		{file: "expires_in_words", kind: ErrBadResponse, desc: "not a number"},
		{file: "access_token_number", kind: ErrBadResponse, desc: "invalid JSON"},
		{file: "wrong_content_type", kind: ErrBadResponse, desc: "HTML"},
		{file: "empty", kind: ErrBadResponse, desc: "empty body"},
		{file: "json_array", kind: ErrBadResponse, desc: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			status, h, body := loadResponse(t, tt.file)
			tok, err := ParseResponse(status, h, body, testNow)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("got %v, want a token", err)
				}
				if !tok.Obtained.Equal(testNow) {
					t.Errorf("got Obtained %v", tok.Obtained)
				}
				tt.check(t, tok, nil)
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tt.kind) {
				t.Fatalf("got %v (%v), want kind %v", err, tok, tt.kind)
			}
			if tt.code != "" && e.Code != tt.code {
				t.Errorf("got code %q, want %q", e.Code, tt.code)
			}
			if e.Status != status {
				t.Errorf("got status %d, want %d", e.Status, status)
			}
			if !strings.Contains(e.Description, tt.desc) {
				t.Errorf("got description %q, want it to mention %q", e.Description, tt.desc)
			}
			if !strings.HasPrefix(err.Error(), "tokenhelper: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
			if tt.check != nil {
				tt.check(t, nil, e)
			}
		})
	}
}

func TestParseResponseExpiresIn(t *testing.T) {
	for in, want := range map[string]int64{`3600`: 3600, `"3600"`: 3600, `" 60 "`: 60, `3600.9`: 3600, `null`: 0, `""`: 0, `0`: 0} {
		body := []byte(`{"access_token":"a","expires_in":` + in + `}`)
		tok, err := ParseResponse(200, map[string]string{"content-type": "application/json"}, body, testNow)
		if err != nil || tok.ExpiresIn != want {
			t.Errorf("expires_in %s: got %v, %v; want %d", in, tok, err, want)
		}
	}
	for _, in := range []string{`true`, `"1e400"`, `[1]`, `{}`, `"-1"`, `1e300`, `NaN`} {
		body := []byte(`{"access_token":"a","expires_in":` + in + `}`)
		if tok, err := ParseResponse(200, map[string]string{"content-type": "application/json"}, body, testNow); !errors.Is(err, ErrBadResponse) {
			t.Errorf("expires_in %s: got %v, %v; want ErrBadResponse", in, tok, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7": 7 * time.Second, "": 0, "-1": 0, "soon": 0, "99999999": 0,
		testNow.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		testNow.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := retryAfter(in, testNow); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTokenStringHidesValues(t *testing.T) {
	tok := &Token{AccessToken: "AT-SECRET", RefreshToken: "RT-SECRET", IDToken: "ID-SECRET", TokenType: "bearer", Scope: "openid", Expiry: testNow}
	for _, s := range []string{tok.String(), tok.GoString(), sprintf("%v %+v %#v %s", tok, tok, tok, tok)} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("token printed its values: %s", s)
		}
	}
	if got := tok.AuthorizationHeader(); got != "Bearer AT-SECRET" {
		t.Errorf("got %q", got)
	}
}

func TestCleanKeepsOneLine(t *testing.T) {
	got := clean("a\r\nb\x00c\xffd"+strings.Repeat("é", 100), 20)
	if strings.ContainsAny(got, "\r\n\x00") || !strings.HasSuffix(got, "…") || !utf8Valid(got) {
		t.Errorf("got %q", got)
	}
}

// Hydra's descriptions put the useful hint after a generic sentence: the
// hint must survive, and a description beyond MaxDescription is cut.
func TestParseResponseKeepsLongDescriptions(t *testing.T) {
	hint := "You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' to 'client_secret_post'."
	desc := "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method). " +
		strings.Repeat("The OAuth 2.0 Client supports client authentication method 'client_secret_basic', but method 'client_secret_post' was requested. ", 3) + hint
	body := `{"error":"invalid_client","error_description":` + strconv.Quote(desc) + `}`
	_, err := ParseResponse(401, map[string]string{"content-type": "application/json"}, []byte(body), testNow)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Description, hint) {
		t.Fatalf("got %v, want the description kept whole (%d bytes) with its hint", err, len(desc))
	}
	long := `{"error":"invalid_client","error_description":"` + strings.Repeat("x", 5000) + `"}`
	_, err = ParseResponse(401, map[string]string{"content-type": "application/json"}, []byte(long), testNow)
	if !errors.As(err, &e) || len(e.Description) > MaxDescription+len("…") {
		t.Fatalf("got a description of %d bytes, want at most %d", len(e.Description), MaxDescription)
	}
}
