package tokenhelper

import (
	"errors"
	"strings"
	"testing"
)

func TestMetadataURLs(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://as.example.com":          "https://as.example.com/.well-known/oauth-authorization-server https://as.example.com/.well-known/openid-configuration",
		"https://as.example.com/":         "https://as.example.com/.well-known/oauth-authorization-server https://as.example.com/.well-known/openid-configuration",
		"https://as.example.com/tenant/1": "https://as.example.com/.well-known/oauth-authorization-server/tenant/1 https://as.example.com/tenant/1/.well-known/openid-configuration",
	} {
		if got := strings.Join(MetadataURLs(issuer), " "); got != want {
			t.Errorf("%s:\n got %s\nwant %s", issuer, got, want)
		}
	}
}

// FuzzParseMetadata: whatever the document, the result is metadata for
// exactly the configured issuer with a token endpoint that CheckURL
// takes, or an ErrBadResponse *Error of bounded length.
func FuzzParseMetadata(f *testing.F) {
	const issuer = "https://as.example.com/t"
	f.Add([]byte(`{"issuer":"https://as.example.com/t","token_endpoint":"https://as.example.com/t/token","token_endpoint_auth_methods_supported":["private_key_jwt"]}`))
	f.Add([]byte(`{"issuer":"https://as.example.com/t/","token_endpoint":"https://as.example.com/t/token"}`))
	f.Add([]byte(`{"issuer":"https://as.example.com/t","token_endpoint":"http://as.example.com/t/token"}`))
	f.Add([]byte(`{"issuer":"https://as.example.com/t","token_endpoint":"http://127.0.0.1/token","dpop_signing_alg_values_supported":["ES256"]}`))
	f.Add([]byte(`{"issuer":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMetadata(body, issuer)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != ErrBadResponse || m != nil || len(e.Error()) > 200 {
				t.Fatalf("got %v, %v", m, err)
			}
			return
		}
		if m.Issuer != issuer || CheckURL(m.TokenEndpoint) != nil {
			t.Fatalf("accepted %+v", m)
		}
	})
}
