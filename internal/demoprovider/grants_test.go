package demoprovider_test

import (
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

func TestPasswordGrant(t *testing.T) {
	e := newEnv(t, demoprovider.Options{Username: "alice", Password: "correct horse"})
	good := func(profile string) map[string]string {
		return with(clientFields(profile), "grant_type", "password", "username", "alice", "password", "correct horse")
	}
	tests := []struct {
		name, profile string
		fields        map[string]string
		status        int
		code          string
		logged        string
	}{
		{"ripple ok", "alphaus-ripple", good("alphaus-ripple"), 200, "", demoprovider.RedactedOK},
		{"wave ok", "alphaus-wave", good("alphaus-wave"), 200, "", demoprovider.RedactedOK},
		{"custom ok", "custom", good("custom"), 200, "", demoprovider.RedactedOK},
		{"wrong password", "alphaus-ripple", with(good("alphaus-ripple"), "password", "hunter2-wrong"), 400, "invalid_grant", demoprovider.RedactedWrong},
		{"wrong user", "alphaus-wave", with(good("alphaus-wave"), "username", "mallory"), 400, "invalid_grant", demoprovider.RedactedOK},
		{"missing username", "alphaus-ripple", with(good("alphaus-ripple"), "username", ""), 400, "invalid_request", demoprovider.RedactedOK},
		{"missing password", "custom", with(good("custom"), "password", ""), 400, "invalid_request", ""},
		{"aluma has no password grant", "aluma", good("aluma"), 400, "unsupported_grant_type", demoprovider.RedactedOK},
		{"alluvial has no password grant", "alluvial", good("alluvial"), 400, "unsupported_grant_type", demoprovider.RedactedOK},
		{"wrong client on password grant", "alphaus-ripple", with(good("alphaus-ripple"), "client_secret", "nope-nope"), 401, "invalid_client", demoprovider.RedactedOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.post(tt.profile, nativeEncoding(tt.profile), tt.fields)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				claims, _ := e.verify(r.str("access_token"))
				if claims["sub"] != "alice" {
					t.Errorf("sub %v", claims["sub"])
				}
			} else {
				assertError(t, r, tt.status, tt.code)
				for _, s := range []string{"correct horse", "hunter2-wrong"} {
					if strings.Contains(string(r.body), s) {
						t.Errorf("answer echoes a password: %s", r.body)
					}
				}
			}
			if got := e.last().Fields["password"]; got != tt.logged {
				t.Errorf("logged password %q, want %q", got, tt.logged)
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, demoprovider.Options{})
	refresh := func(profile, token string, extra ...string) *result {
		f := with(clientFields(profile), "grant_type", "refresh_token", "refresh_token", token, "scope", "")
		return e.post(profile, nativeEncoding(profile), with(f, extra...))
	}
	first := e.post("alphaus-ripple", encMultipart, with(clientFields("alphaus-ripple"), "grant_type", "password",
		"username", demoprovider.DefaultUsername, "password", testPassword))
	rt1 := first.str("refresh_token")
	if rt1 == "" {
		t.Fatalf("no refresh token: %s", first.body)
	}

	second := refresh("alphaus-ripple", rt1)
	if second.status != 200 {
		t.Fatalf("refresh: %d %s", second.status, second.body)
	}
	rt2 := second.str("refresh_token")
	if rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh token not rotated: %q", rt2)
	}
	if claims, _ := e.verify(second.str("access_token")); claims["sub"] != demoprovider.DefaultUsername {
		t.Errorf("refreshed sub %v, want the user", claims["sub"])
	}
	if e.last().Fields["refresh_token"] != demoprovider.RedactedOK {
		t.Errorf("logged refresh_token %q", e.last().Fields["refresh_token"])
	}

	assertError(t, refresh("alphaus-ripple", rt1), 400, "invalid_grant") // single use
	if e.last().Fields["refresh_token"] != demoprovider.RedactedWrong {
		t.Errorf("logged used refresh_token %q", e.last().Fields["refresh_token"])
	}
	assertError(t, refresh("alphaus-wave", rt2), 400, "invalid_grant")                     // other profile
	assertError(t, refresh("alphaus-ripple", rt2, "scope", "email"), 400, "invalid_scope") // alphaus scope is openid
	assertError(t, refresh("alphaus-ripple", "made-up"), 400, "invalid_grant")
	assertError(t, refresh("alphaus-ripple", ""), 400, "invalid_request")
	assertError(t, refresh("aluma", rt2), 400, "unsupported_grant_type")
	assertError(t, refresh("alphaus-ripple", rt2, "client_secret", "wrong-wrong"), 401, "invalid_client")

	// None of the failures above consumed rt2.
	third := refresh("alphaus-ripple", rt2, "scope", "openid")
	if third.status != 200 || third.str("id_token") == "" {
		t.Fatalf("refresh with rt2: %d %s", third.status, third.body)
	}

	// custom: the scope can be narrowed but not widened (RFC 6749 6).
	c := e.post("custom", encForm, with(clientFields("custom"), "scope", "read write"))
	crt := c.str("refresh_token")
	assertError(t, refresh("custom", crt, "scope", "read admin"), 400, "invalid_scope")
	narrowed := refresh("custom", crt, "scope", "read")
	if narrowed.status != 200 || narrowed.str("scope") != "read" {
		t.Fatalf("narrowing: %d %s", narrowed.status, narrowed.body)
	}
	kept := refresh("custom", narrowed.str("refresh_token"))
	if kept.status != 200 || kept.str("scope") != "read" {
		t.Fatalf("refresh without scope: %d %s", kept.status, kept.body)
	}
}
