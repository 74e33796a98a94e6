package wire

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	r, err := DecodeRequest("POST\nhttps://w.example/ripple/token?x=1\n1\norigin:https://app.example\nset-cookie:a=1\nset-cookie:b=2\nx-time:12:30:00\nx-empty:\ncf-connecting-ip:192.0.2.1\nsec-ch-ua-mobile:?0")
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Origin": {"https://app.example"}, "Set-Cookie": {"a=1", "b=2"}, "X-Time": {"12:30:00"}, "X-Empty": {""},
		"Cf-Connecting-Ip": {"192.0.2.1"}, "Sec-Ch-Ua-Mobile": {"?0"}}
	if r.Method != "POST" || r.URL != "https://w.example/ripple/token?x=1" || !r.HasBody || !reflect.DeepEqual(r.Header, want) {
		t.Errorf("got %+v", r)
	}
	r, err = DecodeRequest("GET\nhttps://w.example/\n0")
	if err != nil || r.HasBody || len(r.Header) != 0 {
		t.Errorf("no headers: %+v %v", r, err)
	}
	for _, bad := range []string{"", "GET", "GET\nhttps://w.example/", "GET\nu\n2", "\nu\n0", "GET\nu\n0\nno-colon", "GET\nu\n0\n:v"} {
		if _, err := DecodeRequest(bad); err != ErrMalformed {
			t.Errorf("%q: got %v, want ErrMalformed", bad, err)
		}
	}
}

// TestCommonNames: every name of the table is its own canonical form, so
// that the table and http.CanonicalHeaderKey agree.
func TestCommonNames(t *testing.T) {
	for lower, c := range common {
		if c != http.CanonicalHeaderKey(lower) || strings.ToLower(c) != lower {
			t.Errorf("%q -> %q, want %q", lower, c, http.CanonicalHeaderKey(lower))
		}
	}
}

func TestEncodeHead(t *testing.T) {
	got := EncodeHead(201, http.Header{"Set-Cookie": {"a=1", "b=2"}, "Bad": {"x\ny"}})
	if got != "201\nSet-Cookie:a=1\nSet-Cookie:b=2" {
		t.Errorf("got %q", got)
	}
	if got := EncodeHead(200, nil); got != "200" {
		t.Errorf("empty: got %q", got)
	}
}

// FuzzDecodeRequest: any string decodes or is ErrMalformed, never a panic,
// and a decoded request's headers, written again, decode the same.
func FuzzDecodeRequest(f *testing.F) {
	f.Add("GET\nhttps://w.example/api/x\n0\norigin:https://app.example\nauthorization:Bearer a.b.c")
	f.Add("POST\nu\n1\nk:v:w")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := DecodeRequest(s)
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString(r.Method + "\n" + r.URL + "\n0")
		for k, vs := range r.Header {
			for _, v := range vs {
				b.WriteString("\n" + k + ":" + v)
			}
		}
		again, err := DecodeRequest(b.String())
		if err != nil || !reflect.DeepEqual(again.Header, r.Header) {
			t.Fatalf("re-encoded %q: %v %+v, want %+v", b.String(), err, again, r.Header)
		}
	})
}
