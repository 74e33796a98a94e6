package worker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
)

func TestLoadClientAssertionSettings(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemKey := testkeys.PEM(t, key)
	base := map[string]string{VarAllowedOrigins: "https://app.example.com", VarIssuer: "https://as.example.com/t", VarClientID: "c1"}
	env := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	s, err := Load(env(map[string]string{VarAuthStyle: "private_key_jwt", VarAssertionKey: pemKey, VarAssertionKID: "k1"}))
	if err != nil || s.Token.Assertion == nil || s.Token.AuthStyle != tokenhelper.AuthPrivateKeyJWT || s.Token.TokenURL != "" || s.Token.Issuer != base[VarIssuer] {
		t.Fatalf("private_key_jwt with ISSUER: %+v, %v", s.Token, err)
	}
	s, err = Load(env(map[string]string{VarAuthStyle: "client_secret_jwt", VarClientSecret: "a-client-secret-of-more-than-32-bytes"}))
	if err != nil || s.Token.Assertion == nil {
		t.Fatalf("client_secret_jwt: %v", err)
	}
	for _, tc := range []struct {
		env     map[string]string
		varName string
	}{
		{map[string]string{VarAuthStyle: "private_key_jwt"}, VarAssertionKey},
		{map[string]string{VarAuthStyle: "private_key_jwt", VarAssertionKey: strings.Replace(pemKey, "M", "x", 3)}, VarAssertionKey},
		{map[string]string{VarAuthStyle: "client_secret_jwt"}, VarClientSecret},
		{map[string]string{VarAuthStyle: "client_secret_jwt", VarClientSecret: "short-secret"}, VarClientSecret},
		{map[string]string{VarAuthStyle: "jwt"}, VarAuthStyle},
		{map[string]string{VarIssuer: "http://as.example.com/t"}, VarIssuer},
		{map[string]string{VarIssuer: "https://as.example.com/t", VarProvider: "aluma"}, VarIssuer},
	} {
		_, err := Load(env(tc.env))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != tc.varName || strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), "secret-of") {
			t.Errorf("%v: %v, want a ConfigError naming %s", tc.env, err, tc.varName)
		}
	}
}
