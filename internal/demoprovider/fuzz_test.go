package demoprovider_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// FuzzServe posts arbitrary bodies and content types to every token path
// and checks that the server neither panics nor answers anything but JSON,
// and never echoes or logs a secret.
func FuzzServe(f *testing.F) {
	seed := func(profile, enc string, fields map[string]string, auth string) {
		body, ct := encode(f, enc, fields)
		f.Add(uint8(indexOf(profile)), ct, body, auth)
	}
	for _, p := range demoprovider.Profiles() {
		for _, enc := range []string{encMultipart, encForm, encJSON} {
			seed(p, enc, clientFields(p), "")
		}
	}
	seed("custom", encForm, map[string]string{"grant_type": "password", "username": "demo-user", "password": testPassword}, "Basic ZGVtby1jbGllbnQ6eA==")
	f.Add(uint8(0), "multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--XX"), "")
	f.Add(uint8(3), "application/json", []byte(`{"grant_type":{"a":[1,2,{"b":null}]},"client_secret":1e999}`), "")
	f.Add(uint8(2), "application/x-www-form-urlencoded; charset=utf-8", []byte("a=%&b=;c"), "Basic !!!")
	f.Add(uint8(5), "text/plain", []byte(testSecret), "Basic "+testSecret)
	f.Add(uint8(5), "multipart/form-data; boundary=\"\"", []byte{0, 0xff, '-', '-'}, "")

	srv := demoprovider.New(demoprovider.Options{})
	paths := demoprovider.Profiles()
	f.Fuzz(func(t *testing.T, which uint8, contentType string, body []byte, authz string) {
		path := demoprovider.Path(paths[int(which)%len(paths)])
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)

		ct := w.Header().Get("Content-Type")
		switch {
		case ct == "application/json":
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("invalid JSON answer: %q", w.Body.Bytes())
			}
		case strings.HasPrefix(ct, "text/html"):
		default:
			t.Fatalf("answer Content-Type %q", ct)
		}
		if w.Code >= 400 {
			for _, s := range []string{testSecret, testPassword} {
				if bytes.Contains(w.Body.Bytes(), []byte(s)) {
					t.Fatalf("error echoes a secret: %s", w.Body.Bytes())
				}
			}
			var e struct{ Error, ErrorDescription string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("error answer without an error code: %s", w.Body.Bytes())
			}
		}
		if w.Code == 200 && !strings.Contains(w.Body.String(), `"access_token":"`) {
			t.Fatalf("200 without a token: %s", w.Body.Bytes())
		}
		reqs := srv.Requests()
		logged, _ := json.Marshal(reqs[len(reqs)-1])
		for _, s := range []string{testSecret, testPassword} {
			if bytes.Contains(logged, []byte(s)) {
				t.Fatalf("log holds a secret: %s", logged)
			}
		}
		if len(reqs) > 1000 {
			srv.Reset()
		}
	})
}

func indexOf(profile string) int {
	for i, p := range demoprovider.Profiles() {
		if p == profile {
			return i
		}
	}
	return 0
}
