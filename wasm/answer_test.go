//go:build js && wasm

package main

import (
	"context"
	"io"
	"strings"
	"syscall/js"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

func stringify(v js.Value) string { return js.Global().Get("JSON").Call("stringify", v).String() }

// answering makes every request answer with the content type and body.
func answering(t *testing.T, contentType, body string) {
	t.Helper()
	old := transport
	transport = tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		return &tokenhelper.Response{Status: 200, Header: map[string]string{"content-type": contentType},
			Body: io.NopCloser(strings.NewReader(body))}, nil
	})
	t.Cleanup(func() { transport = old })
}

// The token of requestToken carries the answer's members as sent, in
// their order, those the core does not read too; the client secret and
// the password are masked wherever the provider echoed them.
func TestRequestTokenRaw(t *testing.T) {
	const password = "user-password-1"
	answering(t, "application/json; charset=utf-8", ` {"access_token":"a.b.c","token_type":"bearer","expires_in":86400,"refresh_token":"r",
		"not-before-policy":0,"session_state":"s","ok":true,"none":null,"echo":"is `+secret+` here","pw":"`+password+`",
		"nested":{"k":[1,2.50,"`+secret+`"],"`+secret+`":"key"}} `)
	v, err := jsbridge.Await(requestToken(obj("provider", "alphaus-ripple", "grantType", "password", "clientId", "c",
		"clientSecret", secret, "username", "u", "password", password), js.Undefined()).(js.Value))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":"a.b.c","token_type":"bearer","expires_in":86400,"refresh_token":"r","not-before-policy":0,"session_state":"s","ok":true,"none":null,"echo":"is **** here","pw":"****","nested":{"k":[1,2.5,"****"],"****":"key"}}`
	if got := stringify(v.Get("raw")); got != want {
		t.Errorf("raw = %s\nwant  %s", got, want)
	}
	if got := v.Get("token_type").String(); got != "Bearer" {
		t.Errorf("token_type = %s, want Bearer (raw keeps the provider's spelling, the token does not)", got)
	}
}

func TestRequestTokenRawForms(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body, secret, want string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "access_token=a%2Bb&expires_in=60&scope=x+y&echo=" + secret,
			secret, `{"access_token":"a+b","expires_in":"60","scope":"x y","echo":"****"}`},
		{"short secret", "application/json", `{"access_token":"t","expires_in":60,"a":"with abc in it","b":"clean"}`,
			"abc", `{"access_token":"t","expires_in":60,"a":"` + tokenhelper.Withheld + `","b":"clean"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			answering(t, c.contentType, c.body)
			v, err := jsbridge.Await(requestToken(obj("provider", "aluma", "clientId", "c", "clientSecret", c.secret), js.Undefined()).(js.Value))
			if err != nil {
				t.Fatal(err)
			}
			if got := stringify(v.Get("raw")); got != c.want {
				t.Errorf("raw = %s, want %s", got, c.want)
			}
		})
	}
}

// In worker mode raw is what the worker returned.
func TestRequestTokenRawWorker(t *testing.T) {
	const body = `{"access_token":"w","token_type":"Bearer","expires_in":300,"route":"ripple"}`
	answering(t, "application/json", body)
	v, err := jsbridge.Await(requestToken(obj("worker", "https://w.example/ripple/token"), js.Undefined()).(js.Value))
	if err != nil {
		t.Fatal(err)
	}
	if got := stringify(v.Get("raw")); got != body {
		t.Errorf("raw = %s, want %s", got, body)
	}
}

// The last answer is the one shown: after a 503 and a retry, the 200's.
func TestRequestTokenRawAfterRetry(t *testing.T) {
	old := transport
	n := 0
	transport = tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		n++
		status, body := 503, `{"error":"temporarily_unavailable"}`
		if n > 1 {
			status, body = 200, `{"access_token":"second","expires_in":60}`
		}
		return &tokenhelper.Response{Status: status, Header: map[string]string{"content-type": "application/json"},
			Body: io.NopCloser(strings.NewReader(body))}, nil
	})
	defer func() { transport = old }()
	v, err := jsbridge.Await(requestToken(obj("provider", "aluma", "clientId", "c", "clientSecret", secret), js.Undefined()).(js.Value))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stringify(v.Get("raw")), `{"access_token":"second","expires_in":60}`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
}

func TestAnswerJSONRefuses(t *testing.T) {
	for _, body := range []string{``, `[1]`, `"x"`, `{"a":1} {"b":2}`, `{"a":`, `<html>`} {
		if out, err := answerJSON("application/json", []byte(body), nil); err == nil {
			t.Errorf("answerJSON(%q) = %s, want an error", body, out)
		}
	}
}
