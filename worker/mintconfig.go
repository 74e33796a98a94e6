package worker

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/worker/mint"
)

// MintSettings configures mode "mint".
type MintSettings struct {
	// Minter signs and verifies the worker's tokens; its Issuer is set
	// per request to the worker's own origin.
	Minter mint.Minter
	// Upstream is the API that /api/ forwards to.
	Upstream *url.URL
	// MaxRequestBody caps request bodies through /api/ when they are
	// streamed (MAX_REQUEST_BODY, default 32 MiB).
	MaxRequestBody int64
}

// MaxTokenTTL bounds TOKEN_TTL: a minted token is meant to live minutes.
const MaxTokenTTL = time.Hour

// loadMint reads SIGNING_KEY, SIGNING_KEY_PREVIOUS with
// SIGNING_KEY_ROTATED_AT, TOKEN_TTL and UPSTREAM_API_URL. Secrets are read
// untrimmed-then-trimmed by mint.ParseKey and never quoted in an error.
func loadMint(get, getenv func(string) string) (*MintSettings, error) {
	m := &MintSettings{}
	ttl := mint.DefaultTTL
	if v := get(VarTokenTTL); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > MaxTokenTTL {
			return nil, &ConfigError{VarTokenTTL, "must be a number of seconds from 1 to 3600"}
		}
		ttl = time.Duration(n) * time.Second
	}
	m.Minter.TTL = ttl
	if getenv(VarSigningKey) == "" {
		return nil, &ConfigError{VarSigningKey, "is required in mode mint (wrangler secret put SIGNING_KEY)"}
	}
	key, err := mint.ParseKey(getenv(VarSigningKey))
	if err != nil {
		return nil, &ConfigError{VarSigningKey, "is not usable: " + err.Error()}
	}
	m.Minter.Current = key
	if prev := getenv(VarPreviousKey); prev != "" {
		if m.Minter.Previous, err = mint.ParseKey(prev); err != nil {
			return nil, &ConfigError{VarPreviousKey, "is not usable: " + err.Error()}
		}
		at := get(VarRotatedAt)
		if m.Minter.RotatedAt, err = parseTime(at); err != nil || at == "" {
			return nil, &ConfigError{VarRotatedAt, "is required with SIGNING_KEY_PREVIOUS: when the key was rotated (RFC 3339 or Unix seconds)"}
		}
	}
	m.MaxRequestBody = 32 << 20
	if v := get(VarMaxRequestBody); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 100<<20 {
			return nil, &ConfigError{VarMaxRequestBody, "must be a number of bytes from 1 to 104857600 (Cloudflare's 100 MB request limit)"}
		}
		m.MaxRequestBody = n
	}
	raw := get(VarUpstream)
	if raw == "" {
		return nil, &ConfigError{VarUpstream, "is required in mode mint"}
	}
	if !secureURL(raw) {
		return nil, &ConfigError{VarUpstream, "must be an https URL (http only on loopback), without user info"}
	}
	m.Upstream, _ = url.Parse(raw)
	if m.Upstream.RawQuery != "" {
		return nil, &ConfigError{VarUpstream, "must not carry a query"}
	}
	return m, nil
}

// parseTime reads RFC 3339 or Unix seconds.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Parse(time.RFC3339, s)
}
