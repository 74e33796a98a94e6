package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"golang.org/x/oauth2"
)

// staticTransport answers every request with the same fresh token.
var staticTransport = tokenhelper.TransportFunc(func(context.Context, *tokenhelper.Request) (*tokenhelper.Response, error) {
	return &tokenhelper.Response{Status: 200, Header: map[string]string{"content-type": "application/json"},
		Body: nopCloser{strings.NewReader(`{"access_token":"at","token_type":"Bearer","expires_in":86400}`)}}, nil
})

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// BenchmarkCachedToken compares the cached path of a Source with
// golang.org/x/oauth2's ReuseTokenSource holding an equally fresh token.
// Goal: tokenhelper no slower than x/oauth2.
func BenchmarkCachedToken(b *testing.B) {
	ctx := context.Background()
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: staticTransport},
		tokenhelper.Config{TokenURL: "https://id.example/token", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := src.Token(ctx); err != nil {
		b.Fatal(err)
	}
	reuse := oauth2.ReuseTokenSource(&oauth2.Token{AccessToken: "at", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour)}, nil)

	b.Run("impl=tokenhelper", func(b *testing.B) {
		for b.Loop() {
			if _, err := src.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=x-oauth2", func(b *testing.B) {
		for b.Loop() {
			if _, err := reuse.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=tokenhelper/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				src.Token(ctx)
			}
		})
	})
	b.Run("impl=x-oauth2/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				reuse.Token()
			}
		})
	})
}

// BenchmarkInspect decodes a typical provider JWT without verifying it.
func BenchmarkInspect(b *testing.B) {
	tok := "eyJhbGciOiJFZERTQSIsImtpZCI6ImRlbW8iLCJ0eXAiOiJKV1QifQ." +
		"eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUiLCJzdWIiOiJkZW1vLWNsaWVudCIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwLCJzY29wZSI6Im9wZW5pZCJ9." +
		"c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
	for b.Loop() {
		if _, err := tokenhelper.Inspect(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildRequest builds each body encoding.
func BenchmarkBuildRequest(b *testing.B) {
	for _, p := range []string{"alphaus-ripple", "aluma", "alluvial"} {
		b.Run("provider="+p, func(b *testing.B) {
			cfg := tokenhelper.Config{Provider: p, ClientID: "client", ClientSecret: "secret"}
			for b.Loop() {
				if _, err := tokenhelper.BuildRequest(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
