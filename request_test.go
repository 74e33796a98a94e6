package tokenhelper

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	testSecret   = "s3cr3t/with+chars&=é"
	testPassword = "pa ss'word\"<x>"
)

// decodeBody reads a request body back with the standard library, the way
// a server would, and returns its fields.
func readBack(t *testing.T, r *Request) (media string, fields map[string]string) {
	t.Helper()
	media, params, err := mime.ParseMediaType(r.Header["Content-Type"])
	if err != nil {
		t.Fatalf("Content-Type %q: %v", r.Header["Content-Type"], err)
	}
	fields = map[string]string{}
	switch media {
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multipart: %v\n%s", err, r.Body)
			}
			if p.FileName() != "" {
				t.Errorf("part %q is a file", p.FormName())
			}
			v, _ := io.ReadAll(p)
			fields[p.FormName()] = string(v)
		}
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		for k := range v {
			fields[k] = v.Get(k)
		}
	case "application/json":
		if err := json.Unmarshal(r.Body, &fields); err != nil {
			t.Fatalf("json: %v\n%s", err, r.Body)
		}
	default:
		t.Fatalf("unexpected media type %q", media)
	}
	return media, fields
}

func TestBuildRequestProviders(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		url   string
		media string
		want  map[string]string
	}{
		{
			name: "alphaus-ripple client_credentials",
			cfg:  Config{Provider: "alphaus-ripple", ClientID: "cid", ClientSecret: testSecret},
			url:  "https://login.alphaus.cloud/ripple/access_token", media: "multipart/form-data",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret, "scope": "openid"},
		},
		{
			name: "alphaus-wave password",
			cfg:  Config{Provider: "alphaus-wave", GrantType: "password", ClientID: "cid", ClientSecret: testSecret, Username: "u@x", Password: testPassword},
			url:  "https://login.alphaus.cloud/access_token", media: "multipart/form-data",
			want: map[string]string{"grant_type": "password", "client_id": "cid", "client_secret": testSecret, "username": "u@x", "password": testPassword, "scope": "openid"},
		},
		{
			name: "aluma",
			cfg:  Config{Provider: "aluma", ClientID: "cid", ClientSecret: testSecret},
			url:  "https://api.aluma.io/oauth/token", media: "application/x-www-form-urlencoded",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret},
		},
		{
			name: "alluvial",
			cfg:  Config{Provider: "alluvial", ClientID: "cid", ClientSecret: testSecret},
			url:  "https://auth.alluvial.finance/oauth/token", media: "application/json",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret, "audience": "https://api.alluvial.finance"},
		},
		{
			name: "alluvial-staging audience override and scope",
			cfg:  Config{Provider: "alluvial-staging", ClientID: "cid", ClientSecret: testSecret, Audience: "https://other", Scope: "read"},
			url:  "https://auth.alluvial.finance/oauth/token", media: "application/json",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret, "audience": "https://other", "scope": "read"},
		},
		{
			name: "custom refresh_token json",
			cfg:  Config{TokenURL: "http://127.0.0.1:9/t", Encoding: EncodingJSON, GrantType: "refresh_token", ClientID: "cid", ClientSecret: testSecret, RefreshToken: "rt"},
			url:  "http://127.0.0.1:9/t", media: "application/json",
			want: map[string]string{"grant_type": "refresh_token", "client_id": "cid", "client_secret": testSecret, "refresh_token": "rt"},
		},
		{
			name: "custom default encoding is form",
			cfg:  Config{Provider: "custom", TokenURL: "https://id.example/token", ClientID: "cid", ClientSecret: testSecret},
			url:  "https://id.example/token", media: "application/x-www-form-urlencoded",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret},
		},
		{
			name: "profile with overridden URL keeps its encoding",
			cfg:  Config{Provider: "alphaus-ripple", TokenURL: "http://localhost:8788/x", ClientID: "cid", ClientSecret: testSecret},
			url:  "http://localhost:8788/x", media: "multipart/form-data",
			want: map[string]string{"grant_type": "client_credentials", "client_id": "cid", "client_secret": testSecret, "scope": "openid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := BuildRequest(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != "POST" || r.URL != tt.url {
				t.Errorf("got %s %s, want POST %s", r.Method, r.URL, tt.url)
			}
			media, fields := readBack(t, r)
			if media != tt.media {
				t.Errorf("got media type %q, want %q", media, tt.media)
			}
			if !reflect.DeepEqual(fields, tt.want) {
				t.Errorf("got fields %v, want %v", fields, tt.want)
			}
			if _, ok := r.Header["Authorization"]; ok {
				t.Errorf("unexpected Authorization header")
			}
			if strings.Contains(r.Curl(), testSecret) || strings.Contains(r.Curl(), testPassword) {
				t.Errorf("curl shows a secret:\n%s", r.Curl())
			}
		})
	}
}

func TestBuildRequestMultipartIsWhatCurlSends(t *testing.T) {
	r, err := buildRequest(Config{Provider: "alphaus-ripple", ClientID: "cid", ClientSecret: "sec"}, "XYZ")
	if err != nil {
		t.Fatal(err)
	}
	want := "--XYZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\ncid\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\nsec\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nopenid\r\n" +
		"--XYZ--\r\n"
	if string(r.Body) != want {
		t.Errorf("got body\n%q\nwant\n%q", r.Body, want)
	}
	if got := r.Header["Content-Type"]; got != "multipart/form-data; boundary=XYZ" {
		t.Errorf("got Content-Type %q", got)
	}
	a, _ := BuildRequest(Config{Provider: "alphaus-ripple", ClientID: "cid", ClientSecret: "sec"})
	b, _ := BuildRequest(Config{Provider: "alphaus-ripple", ClientID: "cid", ClientSecret: "sec"})
	if a.Header["Content-Type"] == b.Header["Content-Type"] {
		t.Errorf("boundaries repeat: %q", a.Header["Content-Type"])
	}
}

func TestBuildRequestBasicAuth(t *testing.T) {
	r, err := BuildRequest(Config{TokenURL: "https://id.example/token", AuthStyle: AuthBasic, ClientID: "c id", ClientSecret: testSecret, Scope: "a b"})
	if err != nil {
		t.Fatal(err)
	}
	_, fields := readBack(t, r)
	if want := map[string]string{"grant_type": "client_credentials", "scope": "a b"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("got fields %v, want %v", fields, want)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header["Authorization"], "Basic "))
	id, sec, _ := strings.Cut(string(raw), ":")
	id, _ = url.QueryUnescape(id)
	sec, _ = url.QueryUnescape(sec)
	if id != "c id" || sec != testSecret {
		t.Errorf("got Basic %q:%q, want the form-urlencoded id and secret (RFC 6749 2.3.1)", id, sec)
	}
	if c := r.Curl(); strings.Contains(c, strings.TrimPrefix(r.Header["Authorization"], "Basic ")) || !strings.Contains(c, "Authorization: Basic "+Mask) {
		t.Errorf("curl does not mask Basic credentials:\n%s", c)
	}
}

func TestBuildRequestConfigErrors(t *testing.T) {
	ok := Config{Provider: "alphaus-ripple", ClientID: "cid", ClientSecret: testSecret}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"nothing", Config{}, "Provider"},
		{"unknown provider", with(func(c *Config) { c.Provider = "nope" }), "Provider"},
		{"custom without URL", Config{Provider: "custom", ClientID: "c"}, "TokenURL"},
		{"http to a remote host", with(func(c *Config) { c.TokenURL = "http://example.com/t" }), "TokenURL"},
		{"ftp", with(func(c *Config) { c.TokenURL = "ftp://127.0.0.1/t" }), "TokenURL"},
		{"user info in URL", with(func(c *Config) { c.TokenURL = "https://u:p@example.com/t" }), "TokenURL"},
		{"relative URL", with(func(c *Config) { c.TokenURL = "/token" }), "TokenURL"},
		{"wrong encoding for profile", with(func(c *Config) { c.Encoding = EncodingJSON }), "Encoding"},
		{"basic for profile", with(func(c *Config) { c.AuthStyle = AuthBasic }), "AuthStyle"},
		{"grant not accepted", Config{Provider: "aluma", GrantType: "password", ClientID: "c", ClientSecret: "s", Username: "u", Password: "p"}, "GrantType"},
		{"unknown grant", with(func(c *Config) { c.GrantType = "implicit" }), "GrantType"},
		{"no client id", with(func(c *Config) { c.ClientID = "" }), "ClientID"},
		{"no secret", with(func(c *Config) { c.ClientSecret = "" }), "ClientSecret"},
		{"basic without secret", Config{TokenURL: "https://x/t", AuthStyle: AuthBasic, ClientID: "c"}, "ClientSecret"},
		{"password without username", with(func(c *Config) { c.GrantType = "password"; c.Password = "p" }), "Username"},
		{"password without password", with(func(c *Config) { c.GrantType = "password"; c.Username = "u" }), "Password"},
		{"refresh without token", with(func(c *Config) { c.GrantType = "refresh_token" }), "RefreshToken"},
		{"bad encoding value", Config{TokenURL: "https://x/t", Encoding: 9, ClientID: "c"}, "Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildRequest(tt.cfg)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrConfig) || e.Code != CodeConfig {
				t.Fatalf("got %v, want an ErrConfig *Error", err)
			}
			if e.Field != tt.field {
				t.Errorf("got field %q, want %q (%v)", e.Field, tt.field, err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestCurlQuotesAndMasks(t *testing.T) {
	for _, enc := range []Encoding{EncodingMultipart, EncodingForm, EncodingJSON} {
		r, err := BuildRequest(Config{TokenURL: "https://id.example/t?x='y'", Encoding: enc, GrantType: "password",
			ClientID: "it's", ClientSecret: testSecret, Username: "@/etc/passwd", Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		c := r.Curl()
		for _, s := range []string{testSecret, testPassword, url.QueryEscape(testSecret), url.QueryEscape(testPassword)} {
			if strings.Contains(c, s) {
				t.Errorf("%v: curl contains %q:\n%s", enc, s, c)
			}
		}
		if !strings.Contains(c, `'https://id.example/t?x='\''y'\'''`) || !strings.Contains(c, `it'\''s`) {
			t.Errorf("%v: quoting wrong:\n%s", enc, c)
		}
		if enc == EncodingMultipart && !strings.Contains(c, "--form-string 'username=@/etc/passwd'") {
			t.Errorf("multipart curl must use --form-string so @ is not a file:\n%s", c)
		}
		if enc == EncodingJSON && !strings.Contains(c, `"password":"`+Mask+`"`) {
			t.Errorf("json curl does not mask:\n%s", c)
		}
	}
}

func TestRedact(t *testing.T) {
	r, _ := BuildRequest(Config{TokenURL: "https://x/t", GrantType: "password", ClientID: "c", ClientSecret: testSecret, Username: "u", Password: testPassword})
	in := "a " + testSecret + " b " + url.QueryEscape(testPassword) + " c " + jsonEscape(testSecret)
	if got := r.Redact(in); strings.Contains(got, testSecret) || strings.Contains(got, url.QueryEscape(testPassword)) || strings.Contains(got, "s3cr3t") {
		t.Errorf("got %q", got)
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"": EncodingDefault, "multipart": EncodingMultipart, "FORM": EncodingForm, "urlencoded": EncodingForm, " json ": EncodingJSON} {
		if got, err := ParseEncoding(in); err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseEncoding("xml"); !errors.Is(err, ErrConfig) {
		t.Errorf("got %v, want ErrConfig", err)
	}
}

func TestSecretForms(t *testing.T) {
	got := SecretForms(`a b"<`)
	want := []string{`a b"<`, `a+b%22%3C`, `a%20b%22%3C`, `a b\"\u003c`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := SecretForms("plain"); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("plain: got %q, want one form", got)
	}
	if SecretForms("") != nil {
		t.Error("empty: want no forms")
	}
}

// RFC 8707: one resource parameter per indicator in form and multipart
// bodies; a JSON body holds them in one array (a name cannot repeat).
func TestBuildRequestResourceIndicators(t *testing.T) {
	res := []string{"https://api.example.com/", "urn:example:inventory"}
	for _, enc := range []Encoding{EncodingForm, EncodingMultipart, EncodingJSON} {
		r, err := BuildRequest(Config{TokenURL: "https://as.example.com/token", Encoding: enc, ClientID: "c", ClientSecret: "s", Resource: res})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		switch enc {
		case EncodingForm:
			v, _ := url.ParseQuery(string(r.Body))
			got = v["resource"]
		case EncodingMultipart:
			_, params, _ := mime.ParseMediaType(r.Header["Content-Type"])
			form, err := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"]).ReadForm(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			got = form.Value["resource"]
		case EncodingJSON:
			var body struct {
				Resource []string `json:"resource"`
				Secret   string   `json:"client_secret"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Secret != "s" {
				t.Fatalf("%s: %v in %s", enc, err, r.Body)
			}
			got = body.Resource
		}
		if strings.Join(got, " ") != strings.Join(res, " ") {
			t.Errorf("%s: got resource %q, want %q", enc, got, res)
		}
	}
	one, _ := BuildRequest(Config{TokenURL: "https://as.example.com/token", Encoding: EncodingJSON, ClientID: "c", Resource: res[:1]})
	if !strings.Contains(string(one.Body), `"resource":"https://api.example.com/"`) {
		t.Errorf("one resource in JSON: got %s, want a plain string member", one.Body)
	}
	for _, bad := range []string{"/relative", "https://api.example.com/#frag", "api.example.com", "https://a b"} {
		_, err := BuildRequest(Config{TokenURL: "https://as.example.com/token", ClientID: "c", Resource: []string{bad}})
		var e *Error
		if !errors.As(err, &e) || e.Field != "Resource" {
			t.Errorf("%q: got %v, want an ErrConfig naming Resource", bad, err)
		}
	}
}
