package tokenhelper

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactText(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"long secret, every form", "a s3cr3t/with+chars b " + url.QueryEscape("s3cr3t/with+chars"), []string{"s3cr3t/with+chars"}, "a **** b ****"},
		{"common word of 8", "the password is wrong", []string{"password"}, "the **** is wrong"},
		{"one character: withheld, not garbled", "TypeError: Failed to fetch", []string{"p"}, Withheld},
		{"two characters", "ab", []string{"ab"}, Withheld},
		{"a short secret withholds even with a long one", "no secret here", []string{"a-long-secret", "pw"}, Withheld},
		{"empty text stays empty", "", []string{"p"}, ""},
		{"no secrets", "plain", nil, "plain"},
		{"empty secret is none", "plain", []string{""}, "plain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactText(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A provider that echoes a short password back: the error keeps its code,
// withholds the provider's text, and neither garbles nor tells.
func TestShortPasswordWithheldFromProviderText(t *testing.T) {
	for _, pw := range []string{"p", "pw", "e"} {
		ep := &fakeEndpoint{script: []func(*Request) (*Response, error){
			respond(jsonAnswer(400, `{"error":"invalid_grant","error_description":"wrong password `+pw+` for user"}`)),
		}}
		c := &Client{Transport: ep, Clock: newFakeClock()}
		_, err := c.Token(context.Background(), Config{TokenURL: "https://id.example/token", GrantType: GrantPassword,
			ClientID: "client", ClientSecret: testSecret, Username: "user", Password: pw})
		var e *Error
		if !errors.As(err, &e) || e.Code != "invalid_grant" || e.Description != Withheld {
			t.Fatalf("password %q: got %#v, want invalid_grant with the description withheld", pw, err)
		}
		if msg := err.Error(); strings.Contains(msg, Mask) || !strings.Contains(msg, "invalid_grant") {
			t.Errorf("password %q: message %q", pw, msg)
		}
	}
}

// An unregistered code is outside text like any other.
func TestUnregisteredCodeWithheld(t *testing.T) {
	ep := &fakeEndpoint{script: []func(*Request) (*Response, error){respond(jsonAnswer(400, `{"error":"bad_pw_x"}`))}}
	c := &Client{Transport: ep, Clock: newFakeClock()}
	_, err := c.Token(context.Background(), Config{TokenURL: "https://id.example/token", ClientID: "c", ClientSecret: "x"})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeWithheld {
		t.Fatalf("got %v, want code %q", err, CodeWithheld)
	}
}

// Every setting that shapes the request changes the cache key; the
// secret and the password do not.
func TestCacheKeyCoversTheRequest(t *testing.T) {
	base := Config{Provider: "custom", TokenURL: "https://id.example/token", ClientID: "c", ClientSecret: "secret-one",
		GrantType: GrantPassword, Username: "u", Password: "password-one", Scope: "openid", Audience: "https://api.example"}
	k := CacheKey(base)
	for name, edit := range map[string]func(*Config){
		"token URL": func(c *Config) { c.TokenURL = "https://id.example/other" },
		"encoding":  func(c *Config) { c.Encoding = EncodingJSON },
		"auth":      func(c *Config) { c.AuthStyle = AuthBasic },
		"grant":     func(c *Config) { c.GrantType = GrantClientCredentials },
		"client id": func(c *Config) { c.ClientID = "d" },
		"username":  func(c *Config) { c.Username = "v" },
		"audience":  func(c *Config) { c.Audience = "https://api2.example" },
		"scope":     func(c *Config) { c.Scope = "email" },
		"resource":  func(c *Config) { c.Resource = []string{"https://api.example/"} },
		"issuer":    func(c *Config) { c.Issuer = "https://id.example" },
		"assertion key": func(c *Config) {
			c.AuthStyle, c.Assertion = AuthPrivateKeyJWT, keyMaterial("public key one")
		},
	} {
		c := base
		edit(&c)
		if CacheKey(c) == k {
			t.Errorf("%s: the cache key did not change", name)
		}
	}
	c := base
	c.ClientSecret, c.Password = "secret-two", "password-two"
	if CacheKey(c) != k {
		t.Error("the cache key depends on the secret or the password")
	}
	one, two := base, base
	one.AuthStyle, one.Assertion = AuthPrivateKeyJWT, keyMaterial("public key one")
	two.AuthStyle, two.Assertion = AuthPrivateKeyJWT, keyMaterial("public key two")
	if CacheKey(one) == CacheKey(two) {
		t.Error("two private_key_jwt keys share a cache key: a wrong key would be handed the right one's token")
	}
}

// keyMaterial is an AssertionSigner with a public key to tell it apart.
type keyMaterial string

func (k keyMaterial) SignJWT([]byte) (string, error) { return "x.y.z", nil }
func (k keyMaterial) CredentialMaterial() []byte     { return []byte(k) }

// unreadableTransport fails like a browser's fetch that the page may not
// read: the request left, the answer is hidden.
type unreadableTransport struct{ calls int }

type hiddenAnswer struct{}

func (hiddenAnswer) Error() string        { return "TypeError: Failed to fetch" }
func (hiddenAnswer) Is(target error) bool { return target == ErrAnswerUnreadable }

func (u *unreadableTransport) RoundTrip(context.Context, *Request) (*Response, error) {
	u.calls++
	return nil, hiddenAnswer{}
}

// A token POST whose answer cannot be read is sent once, never resent, and
// the error says why and what the likely cause is.
func TestUnreadableAnswerIsNotResent(t *testing.T) {
	tr := &unreadableTransport{}
	c := &Client{Transport: tr, Clock: newFakeClock()}
	_, err := c.Token(context.Background(), Config{TokenURL: "https://id.example/token", GrantType: GrantPassword,
		ClientID: "c", ClientSecret: testSecret, Username: "u", Password: testPassword})
	if tr.calls != 1 {
		t.Fatalf("got %d requests, want 1", tr.calls)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNetwork || e.Temporary() || !errors.Is(err, ErrAnswerUnreadable) {
		t.Fatalf("got %v, want a network error that is not temporary and is ErrAnswerUnreadable", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "CORS") || !strings.Contains(msg, "Failed to fetch") {
		t.Errorf("message %q should name the likely cause and keep the browser's text", msg)
	}
}
