package fingerprint_test

import (
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/fingerprint"
)

func TestFingerprintsTellCredentialsApart(t *testing.T) {
	base := tokenhelper.Config{Provider: "aluma", ClientID: "c", ClientSecret: "s1"}
	variants := map[string]tokenhelper.Config{}
	for name, edit := range map[string]func(*tokenhelper.Config){
		"base":          func(*tokenhelper.Config) {},
		"secret":        func(c *tokenhelper.Config) { c.ClientSecret = "s2" },
		"password":      func(c *tokenhelper.Config) { c.Password = "p" },
		"refresh token": func(c *tokenhelper.Config) { c.RefreshToken = "r" },
		// Length prefixes: the same bytes split differently are others.
		"split": func(c *tokenhelper.Config) { c.ClientSecret, c.Password = "s", "1" },
	} {
		c := base
		edit(&c)
		variants[name] = c
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, f := range []struct {
		name string
		fp   func(tokenhelper.Config) string
	}{
		{"Keyed", func(c tokenhelper.Config) string { return fingerprint.Keyed(key, c) }},
		{"Slow", func(c tokenhelper.Config) string { return fingerprint.Slow(c, 10) }},
	} {
		seen := map[string]string{}
		for name, c := range variants {
			got := f.fp(c)
			if len(got) != 2*fingerprint.Size {
				t.Errorf("%s(%s): got %q, want %d hex digits", f.name, name, got, 2*fingerprint.Size)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%s: %s and %s have one fingerprint", f.name, name, other)
			}
			seen[got] = name
			if again := f.fp(c); again != got {
				t.Errorf("%s(%s) is not stable: %q then %q", f.name, name, got, again)
			}
		}
		if got := f.fp(tokenhelper.Config{Provider: "aluma", ClientID: "c"}); got != "" {
			t.Errorf("%s of no credentials: got %q, want \"\"", f.name, got)
		}
	}
	if fingerprint.Keyed(key, base) == fingerprint.Keyed([]byte("another key of thirty-two bytes!"), base) {
		t.Error("Keyed: two keys give one fingerprint")
	}
	// Slow is salted with the rest of the configuration and its cost.
	other := base
	other.ClientID = "c2"
	if fingerprint.Slow(base, 10) == fingerprint.Slow(other, 10) || fingerprint.Slow(base, 10) == fingerprint.Slow(base, 11) {
		t.Error("Slow: another client or iteration count gives the same fingerprint")
	}
}
