package respond

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// tokenJSON is what encoding/json makes of the answer Token writes.
func tokenJSON(t testing.TB, access, typ string, expiresIn int64) string {
	b, err := json.Marshal(struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}{access, typ, expiresIn})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// FuzzToken: whatever the token holds, Token writes what encoding/json
// would have written.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln", "", `a"b\c`, "<script>&", "é\u2028\x00\x7f", "\xff"} {
		f.Add(s, "Bearer", int64(86399))
	}
	f.Fuzz(func(t *testing.T, access, typ string, expiresIn int64) {
		w := httptest.NewRecorder()
		Token(w, access, typ, expiresIn)
		if got, want := w.Body.String(), tokenJSON(t, access, typ, expiresIn); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("got %d %q", w.Code, w.Header().Get("Content-Type"))
		}
	})
}
