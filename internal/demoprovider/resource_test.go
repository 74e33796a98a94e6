package demoprovider_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// TestResourceIndicators: the custom profile takes RFC 8707 resource
// indicators, repeated, in every encoding the core writes (form and
// multipart repeat the field, JSON sends an array), and puts them in the
// access token's aud; a resource that is not an absolute URI is
// invalid_target.
func TestResourceIndicators(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	one, two := "https://api.example.com/", "https://files.example.com/v1"
	for _, enc := range []tokenhelper.Encoding{tokenhelper.EncodingForm, tokenhelper.EncodingMultipart, tokenhelper.EncodingJSON} {
		for _, tc := range []struct {
			resource []string
			wantAud  any
		}{
			{[]string{one}, one},
			{[]string{one, two}, []any{one, two}},
			{nil, "custom"},
		} {
			t.Run(enc.String(), func(t *testing.T) {
				e.t = t
				req, err := tokenhelper.BuildRequest(tokenhelper.Config{Provider: "custom", TokenURL: e.ts.URL + demoprovider.Path("custom"),
					Encoding: enc, ClientID: demoprovider.DefaultClientID, ClientSecret: testSecret, Resource: tc.resource})
				if err != nil {
					t.Fatal(err)
				}
				r := e.postRaw(demoprovider.Path("custom"), req.Header["Content-Type"], req.Body)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				claims, _ := e.verify(r.str("access_token"))
				if got := claims["aud"]; !equalAud(got, tc.wantAud) {
					t.Errorf("aud: got %v, want %v", got, tc.wantAud)
				}
				if got, want := e.last().Fields["resource"], strings.Join(tc.resource, " "); got != want {
					t.Errorf("logged resource: got %q, want %q", got, want)
				}
			})
		}
	}
	e.t = t
	bad := e.post("custom", "form", with(clientFields("custom"), "grant_type", "client_credentials", "resource", "relative/path"))
	assertError(t, bad, 400, "invalid_target")
}

func equalAud(got, want any) bool {
	switch w := want.(type) {
	case string:
		return got == w
	case []any:
		g, ok := got.([]any)
		return ok && slices.Equal(g, w)
	}
	return false
}
