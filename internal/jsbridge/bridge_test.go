//go:build js && wasm

package jsbridge

import (
	"encoding/json"
	"errors"
	"syscall/js"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

func TestToJS(t *testing.T) {
	v := ToJS(map[string]any{"b": json.Number("42"), "a": []any{"x", true, nil, 1.5}, "c": map[string]any{}})
	keys := js.Global().Get("Object").Call("keys", v)
	if got := keys.Call("join", ",").String(); got != "a,b,c" {
		t.Errorf("keys = %s, want a,b,c (sorted)", got)
	}
	if got := v.Get("b").Float(); got != 42 {
		t.Errorf("b = %v, want 42", got)
	}
	a := v.Get("a")
	if a.Length() != 4 || a.Index(0).String() != "x" || !a.Index(1).Bool() || !a.Index(2).IsNull() || a.Index(3).Float() != 1.5 {
		t.Errorf("a = %v, want [x true null 1.5]", js.Global().Get("JSON").Call("stringify", a))
	}
	if got := ToJS(time.UnixMilli(1234)).Float(); got != 1234 {
		t.Errorf("time = %v, want 1234 ms", got)
	}
}

func TestStrings(t *testing.T) {
	o := js.Global().Get("Object").New()
	o.Set("clientId", "c")
	o.Set("scope", js.Null())
	m, err := Strings(o, "clientId", "scope")
	if err != nil || len(m) != 1 || m["clientId"] != "c" {
		t.Fatalf("Strings = %v, %v; want map[clientId:c]", m, err)
	}
	o.Set("client_id", "c")
	var oe *OptionError
	if _, err := Strings(o, "clientId", "scope"); !errors.As(err, &oe) || oe.Name != "client_id" {
		t.Errorf("unknown option: err = %v, want an OptionError naming client_id", err)
	}
	o.Delete("client_id")
	o.Set("clientId", 5)
	if _, err := Strings(o, "clientId"); !errors.As(err, &oe) || oe.Name != "clientId" {
		t.Errorf("number: err = %v, want an OptionError naming clientId", err)
	}
	if _, err := Strings(js.ValueOf("x")); err == nil {
		t.Error("a string as options: no error")
	}
	if m, err := Strings(js.Undefined()); err != nil || len(m) != 0 {
		t.Errorf("undefined: %v, %v; want empty", m, err)
	}
}

func TestErrorValue(t *testing.T) {
	e := ErrorValue(&tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "invalid_client", Status: 401,
		Description: "nope", RetryAfter: 2 * time.Second})
	if !e.InstanceOf(js.Global().Get("Error")) {
		t.Fatal("not an Error")
	}
	for k, want := range map[string]any{"name": "TokenHelperError", "code": "invalid_client", "status": 401, "description": "nope", "retryAfter": 2} {
		if got := e.Get(k); !got.Equal(js.ValueOf(want)) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if got := ErrorValue(&OptionError{Name: "x", Reason: "r"}); got.Get("code").String() != "config" || got.Get("field").String() != "x" {
		t.Errorf("OptionError: code %v field %v, want config x", got.Get("code"), got.Get("field"))
	}
	if got := ErrorValue(errors.New("boom")).Get("code").String(); got != "internal" {
		t.Errorf("plain error: code %s, want internal", got)
	}
}

func TestPromise(t *testing.T) {
	v, err := Await(Promise(func() (any, error) { return map[string]any{"ok": true}, nil }))
	if err != nil || !v.Get("ok").Bool() {
		t.Errorf("fulfilled: %v, %v", v, err)
	}
	_, err = Await(Promise(func() (any, error) {
		return nil, &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: "network"}
	}))
	if err == nil || err.Error() != "TokenHelperError: tokenhelper: network error" {
		t.Errorf("rejected: err = %v", err)
	}
	rejected := js.Global().Get("Promise").Call("reject", js.Global().Get("TypeError").New("Failed to fetch"))
	if _, err := Await(rejected); err == nil || err.Error() != "TypeError: Failed to fetch" {
		t.Errorf("Await of a rejection: %v, want TypeError: Failed to fetch", err)
	}
}
