//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"syscall/js"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/jsbridge"
)

const secret = "very-secret"

func obj(kv ...string) js.Value {
	o := jsbridge.Object()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i], kv[i+1])
	}
	return o
}

// fake answers every token request with a new token, counting them.
func fake(t *testing.T, status int, body string) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	old := transport
	transport = tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		n.Add(1)
		return &tokenhelper.Response{Status: status, Header: map[string]string{"content-type": "application/json"},
			Body: io.NopCloser(strings.NewReader(body))}, nil
	})
	t.Cleanup(func() { transport = old })
	return &n
}

func TestDecodeJWT(t *testing.T) {
	tok := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjoxMH0.s"
	if v := decodeJWT(js.ValueOf(tok), false); v != `{"sub":"x","exp":10}` { // the members keep their order, as in jwt-decode
		t.Errorf("payload = %v", v)
	}
	if v := decodeJWT(js.ValueOf(tok), true); v != `{"alg":"none"}` {
		t.Errorf("header = %v", v)
	}
	for in, want := range map[any]string{
		42:    "Invalid token specified: must be a string",
		"abc": "Invalid token specified: missing part #2",
	} {
		v := decodeJWT(js.ValueOf(in), false).(js.Value)
		if !v.InstanceOf(jsError) || v.Get("message").String() != want {
			t.Errorf("decodeJWT(%v) = %v, want Error %q", in, v, want)
		}
	}
}

func TestBuildTokenRequest(t *testing.T) {
	r := buildTokenRequest(obj("provider", "alphaus-ripple", "clientId", "c", "clientSecret", secret)).(js.Value)
	if r.InstanceOf(jsError) {
		t.Fatal(r.Get("message"))
	}
	if ct := r.Get("headers").Get("Content-Type").String(); !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
		t.Errorf("Content-Type = %s", ct)
	}
	if !strings.Contains(r.Get("body").String(), secret) {
		t.Error("body lacks the secret: it must be exactly what is sent")
	}
	for _, k := range []string{"curl"} {
		if strings.Contains(r.Get(k).String(), secret) {
			t.Errorf("%s shows the secret", k)
		}
	}
	if strings.Contains(r.Get("redacted").Get("body").String(), secret) {
		t.Error("redacted body shows the secret")
	}
	f := r.Get("fields")
	var names []string
	for i := 0; i < f.Length(); i++ {
		names = append(names, f.Index(i).Get("name").String()+"="+f.Index(i).Get("value").String())
	}
	if got, want := strings.Join(names, "&"), "grant_type=client_credentials&client_id=c&client_secret=****&scope=openid"; got != want {
		t.Errorf("fields = %s, want %s", got, want)
	}
	e := buildTokenRequest(obj("provider", "aluma", "clientId", "c")).(js.Value)
	if e.Get("code").String() != "config" || e.Get("field").String() != "ClientSecret" {
		t.Errorf("missing secret: code %v field %v, want config ClientSecret", e.Get("code"), e.Get("field"))
	}
}

func TestRequestToken(t *testing.T) {
	n := fake(t, 200, `{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","token_type":"bearer","expires_in":60,"scope":"a"}`)
	v, err := jsbridge.Await(requestToken(obj("provider", "aluma", "clientId", "c", "clientSecret", secret), js.Undefined()).(js.Value))
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("token_type").String() != "Bearer" || v.Get("expires_in").Int() != 60 || v.Get("claims").Get("sub").String() != "x" || v.Get("scope").String() != "a" {
		t.Errorf("token = %v", js.Global().Get("JSON").Call("stringify", v))
	}
	if v.Get("expires_at").Float()-v.Get("obtained_at").Float() != 60000 {
		t.Errorf("expires_at - obtained_at = %v ms, want 60000", v.Get("expires_at").Float()-v.Get("obtained_at").Float())
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

func TestRequestTokenRejected(t *testing.T) {
	fake(t, 401, `{"error":"invalid_client","error_description":"bad `+secret+`"}`)
	_, err := jsbridge.Await(requestToken(obj("provider", "aluma", "clientId", "c", "clientSecret", secret), js.Undefined()).(js.Value))
	if err == nil || !strings.Contains(err.Error(), "invalid_client (HTTP 401)") || strings.Contains(err.Error(), secret) {
		t.Errorf("err = %v, want invalid_client (HTTP 401) without the secret", err)
	}
}

func TestSources(t *testing.T) {
	n := fake(t, 200, `{"access_token":"t","expires_in":3600}`)
	id := sources.open(obj("provider", "aluma", "clientId", "c", "clientSecret", secret), js.Undefined()).(int)
	for range 3 {
		if v, err := jsbridge.Await(sources.token(id, js.Undefined()).(js.Value)); err != nil || v.Get("access_token").String() != "t" {
			t.Fatalf("token: %v, %v", v, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d requests for 3 tokens, want 1 (cached)", n.Load())
	}
	sources.invalidate(id, js.Undefined())
	jsbridge.Await(sources.token(id, js.Undefined()).(js.Value))
	if n.Load() != 2 {
		t.Errorf("%d requests after invalidate, want 2", n.Load())
	}
	sources.close(id)
	if _, err := jsbridge.Await(sources.token(id, js.Undefined()).(js.Value)); err == nil {
		t.Error("token of a closed source: no error")
	}
	if e := sources.open(obj("worker", ""), js.Undefined()).(js.Value); e.Get("code").String() != "config" {
		t.Errorf("empty worker URL: %v", e)
	}
}

func TestWorkerRequest(t *testing.T) {
	var got *tokenhelper.Request
	old := transport
	transport = tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		got = r
		return &tokenhelper.Response{Status: 200, Header: map[string]string{"content-type": "application/json"},
			Body: io.NopCloser(bytes.NewReader([]byte(`{"access_token":"w","token_type":"Bearer","expires_in":300}`)))}, nil
	})
	defer func() { transport = old }()
	v, err := jsbridge.Await(requestToken(obj("worker", "https://w.example/token"), js.Undefined()).(js.Value))
	if err != nil || v.Get("access_token").String() != "w" {
		t.Fatalf("%v, %v", v, err)
	}
	if got.Method != "POST" || got.URL != "https://w.example/token" || len(got.Body) != 0 || len(got.Header) != 1 {
		t.Errorf("request = %+v, want a bodiless POST with only Accept", got)
	}
}

func TestExportsReleased(t *testing.T) {
	exited := false
	api, release := exports(func() { exited = true })
	if got := api.Call("providers").Length(); got != 6 {
		t.Errorf("providers: %d, want 6", got)
	}
	api.Call("exit")
	if !exited {
		t.Error("exit() did not call exit")
	}
	release() // calling them afterwards is tested in web/test/module.test.mjs (unload)
}

// An abort of the caller's signal rejects with an AbortError and cancels
// the request in flight.
func TestRequestTokenAborted(t *testing.T) {
	canceled := make(chan struct{})
	old := transport
	transport = tokenhelper.TransportFunc(func(ctx context.Context, r *tokenhelper.Request) (*tokenhelper.Response, error) {
		<-ctx.Done()
		close(canceled)
		return nil, ctx.Err()
	})
	defer func() { transport = old }()
	ac := js.Global().Get("AbortController").New()
	p := requestToken(obj("provider", "aluma", "clientId", "c", "clientSecret", secret), ac.Get("signal")).(js.Value)
	go ac.Call("abort")
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any { return a[0] })
	defer catch.Release()
	reason, _ := jsbridge.Await(p.Call("catch", catch))
	<-canceled
	if reason.Get("name").String() != "AbortError" || reason.Get("code").String() != "aborted" {
		t.Errorf("rejection = %v %v, want AbortError aborted", reason.Get("name"), reason.Get("code"))
	}
}
