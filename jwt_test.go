package tokenhelper

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestInspect(t *testing.T) {
	raw, err := os.ReadFile("testdata/jwt/hs256_exp2100.txt")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Header["alg"] != "HS256" || in.Claims["sub"] != "demo" {
		t.Errorf("got %v %v", in.Header, in.Claims)
	}
	if in.Claims["exp"] != json.Number("4102444800") {
		t.Errorf("got exp claim %#v, want an exact json.Number", in.Claims["exp"])
	}
	if exp, ok := in.Expiry(); !ok || exp.Unix() != 4102444800 {
		t.Errorf("got exp %v %v", exp, ok)
	}
	if iat, ok := in.IssuedAt(); !ok || iat.Unix() != 1700000000 {
		t.Errorf("got iat %v %v", iat, ok)
	}
	// An algorithm golang-jwt does not know still inspects.
	if _, err := Inspect(b64(`{"alg":"XS999"}`) + "." + b64(`{"a":1}`) + ".c2ln"); err != nil {
		t.Errorf("unknown alg: got %v", err)
	}
	for _, bad := range []string{"", "a.b", "a.b.c.d", "!!.e30.x", b64("{") + ".e30.x", "e30." + b64("[") + ".x", b64(`{"alg":"HS256"}`) + ".e30.***"} {
		if _, err := Inspect(bad); !errors.Is(err, ErrMalformedJWT) {
			t.Errorf("Inspect(%q): got %v, want ErrTokenMalformed", bad, err)
		}
	}
}

// TestDecodeSegmentLikeJWTDecode follows the jwt-decode npm package's own
// test cases: any part count, both base64 alphabets, padding, UTF-8.
func TestDecodeSegmentLikeJWTDecode(t *testing.T) {
	payload := b64(`{"name":"José","emoji":"🙂","exp":1393286893}`)
	tests := []struct {
		token string
		part  int
		want  any
		err   string
	}{
		{token: b64(`{"alg":"HS256"}`) + "." + payload + ".sig", part: 1, want: map[string]any{"name": "José", "emoji": "🙂", "exp": 1393286893.0}},
		{token: b64(`{"alg":"HS256"}`) + "." + payload + ".sig", part: 0, want: map[string]any{"alg": "HS256"}},
		{token: "x." + payload, part: 1, want: map[string]any{"name": "José", "emoji": "🙂", "exp": 1393286893.0}},
		{token: "x." + b64(`{"a":"b?c"}`) + "=", part: 1, want: map[string]any{"a": "b?c"}},
		{token: "x." + b64(`{"a":"b?c"}`) + "==", part: 1, err: "Invalid token specified: invalid base64 for part #2 (base64 string is not of the correct length)"},
		{token: "x.eyJh IjoiYj9jIn0", part: 1, want: map[string]any{"a": "b?c"}},
		{token: "x." + base64.RawURLEncoding.EncodeToString([]byte("{\"a\":\"caf\xe9\"}")), part: 1, want: map[string]any{"a": "café"}},
		{token: "x.eyJhIjoiYj9jIn0=", part: 1, want: map[string]any{"a": "b?c"}},
		{token: "x." + strings.NewReplacer("-", "+", "_", "/").Replace(b64(`{"a":"~~~???>>>"}`)), part: 1, want: map[string]any{"a": "~~~???>>>"}},
		{token: "x." + b64(`42`), part: 1, want: 42.0},
		{token: "onlyone", part: 1, err: "Invalid token specified: missing part #2"},
		{token: "", part: 1, err: "Invalid token specified: missing part #2"},
		{token: "a.b", part: 2, err: "Invalid token specified: missing part #3"},
		{token: "x.a", part: 1, err: "Invalid token specified: invalid base64 for part #2 (base64 string is not of the correct length)"},
		{token: "x.ab$c", part: 1, err: "Invalid token specified: invalid base64 for part #2"},
		{token: "x." + b64(`{"a":`), part: 1, err: "Invalid token specified: invalid json for part #2"},
		{token: b64(`{`) + ".e30", part: 0, err: "Invalid token specified: invalid json for part #1"},
	}
	for _, tt := range tests {
		got, err := DecodeSegment(tt.token, tt.part)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) || !errors.Is(err, ErrMalformedJWT) {
				t.Errorf("DecodeSegment(%q, %d): got %v, want %q", tt.token, tt.part, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeSegment(%q, %d) = %v, %v; want %v", tt.token, tt.part, got, err, tt.want)
		}
	}
}
