package worker

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/assertion"
	"github.com/tokenhelper/tokenhelper/dpop"
)

// Names of the settings, as Worker vars and secrets (.dev.vars locally).
const (
	VarProvider        = "TOKEN_PROVIDER"
	VarTokenURL        = "TOKEN_URL"
	VarEncoding        = "TOKEN_ENCODING"
	VarIssuer          = "ISSUER"               // custom only: the issuer; without TOKEN_URL the endpoint is discovered
	VarAuthStyle       = "TOKEN_AUTH"           // "body" (default), "basic", "private_key_jwt" or "client_secret_jwt", custom only
	VarAssertionKey    = "CLIENT_ASSERTION_KEY" // private_key_jwt: PEM private key (a secret)
	VarAssertionKID    = "CLIENT_ASSERTION_KID" // private_key_jwt: the key's kid, optional
	VarGrantType       = "GRANT_TYPE"
	VarClientID        = "CLIENT_ID"
	VarClientSecret    = "CLIENT_SECRET"
	VarUsername        = "USERNAME"
	VarPassword        = "PASSWORD"
	VarScope           = "SCOPE"
	VarAudience        = "AUDIENCE"
	VarResource        = "RESOURCE" // RFC 8707 resource indicators, space-separated absolute URIs
	VarAllowedOrigins  = "ALLOWED_ORIGINS"
	VarMode            = "MODE"
	VarCallerHeader    = "CALLER_JWT_HEADER"
	VarCallerJWKSURL   = "CALLER_JWKS_URL"
	VarCallerIssuer    = "CALLER_ISSUER"
	VarCallerAudience  = "CALLER_AUDIENCE"
	VarSigningKey      = "SIGNING_KEY"
	VarPreviousKey     = "SIGNING_KEY_PREVIOUS"
	VarRotatedAt       = "SIGNING_KEY_ROTATED_AT"
	VarTokenTTL        = "TOKEN_TTL"
	VarUpstream        = "UPSTREAM_API_URL"
	VarMaxRequestBody  = "MAX_REQUEST_BODY"
	VarRateLimitPeriod = "RATE_LIMIT_PERIOD" // "10" or "60" (default) seconds, the RATE_LIMITER binding's period
)

// DPoP binding of minted tokens (RFC 9449), mode mint only.
const VarDPoP = "DPOP" // "off", "allowed" (default) or "required"

// VarTokenDPoPKey is the Worker's own DPoP key towards the provider and
// the upstream (RFC 9449; custom providers, mode mint only): a PEM EC
// P-256 or Ed25519 private key, a secret. When set, each token request
// carries a proof by it, the provider binds its token to it, and each
// /api/ call upstream carries a proof too. A secret rather than a key
// made per isolate: every isolate and the TOKEN_HOLDER object must prove
// the one key the shared token is bound to.
const VarTokenDPoPKey = "TOKEN_DPOP_KEY"

// fieldVars maps a tokenhelper.Error Field to the variable that sets it.
var fieldVars = map[string]string{
	"Provider":     VarProvider,
	"TokenURL":     VarTokenURL,
	"Encoding":     VarEncoding,
	"Issuer":       VarIssuer,
	"AuthStyle":    VarAuthStyle,
	"Assertion":    VarAssertionKey,
	"DPoP":         VarTokenDPoPKey,
	"GrantType":    VarGrantType,
	"ClientID":     VarClientID,
	"ClientSecret": VarClientSecret,
	"Username":     VarUsername,
	"Password":     VarPassword,
	"RefreshToken": VarGrantType,
	"Scope":        VarScope,
	"Audience":     VarAudience,
	"Resource":     VarResource,
}

// Settings is the worker's configuration, checked.
type Settings struct {
	// Token is the resolved configuration of the provider token request.
	Token tokenhelper.Config
	// Origins holds the exact origins allowed to get tokens.
	Origins map[string]bool
	// Caller, when not nil, requires a verified caller JWT.
	Caller *CallerSettings
	// Mint, when not nil, is mode "mint": /token hands out worker-signed
	// tokens and /api/ forwards to the upstream API.
	Mint *MintSettings
	// RateLimitPeriod is the period of the RATE_LIMITER binding (10 s or
	// 60 s, Cloudflare's only two): the Retry-After of a 429 when the
	// Limiter does not know when its window ends.
	RateLimitPeriod time.Duration

	// DPoP says whether minted tokens are bound to the caller's DPoP key
	// (DPOP, mode mint): DPoPOff, DPoPAllowed or DPoPRequired.
	DPoP string
}

// CallerSettings configures the caller identity gate.
type CallerSettings struct {
	// Header carries the JWT; for Authorization it is a Bearer token.
	Header   string
	JWKSURL  string
	Issuer   string
	Audience string
}

// ConfigError names the setting at fault. Its text never holds the
// setting's value.
type ConfigError struct {
	Var         string
	Description string
}

func (e *ConfigError) Error() string { return e.Var + " " + e.Description }

// unquote cuts out the quoted values the core puts in its messages, so
// that no value reaches a response. (Not a regexp: package regexp would
// add about 40 KB gzip to the Worker.)
func unquote(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(strings.TrimRight(s[:i], " \t"))
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return b.String() // an unterminated quote: drop the rest
		}
		s = strings.TrimPrefix(s[i+1+j+1:], "…")
	}
}

// Load reads and checks the settings through getenv. Every failure is a
// [*ConfigError]; settings that are only partly valid are returned with it
// (Origins in particular), so that the error can carry CORS headers.
func Load(getenv func(string) string) (*Settings, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := &Settings{}
	origins, err := parseOrigins(get(VarAllowedOrigins))
	if err != nil {
		return s, err
	}
	s.Origins = origins
	switch p := get(VarRateLimitPeriod); p {
	case "", "60":
		s.RateLimitPeriod = 60 * time.Second
	case "10":
		s.RateLimitPeriod = 10 * time.Second
	default:
		return s, &ConfigError{VarRateLimitPeriod, "must be 10 or 60 (seconds), the period of the RATE_LIMITER binding"}
	}
	switch m := get(VarMode); m {
	case "", "pass":
	case "mint":
		if s.Mint, err = loadMint(get, getenv); err != nil {
			return s, err
		}
		if s.DPoP, err = parseDPoP(get(VarDPoP)); err != nil {
			return s, err
		}
	default:
		return s, &ConfigError{VarMode, `must be "pass" or "mint"`}
	}
	cfg := tokenhelper.Config{
		Provider:     get(VarProvider),
		TokenURL:     get(VarTokenURL),
		Issuer:       get(VarIssuer),
		GrantType:    get(VarGrantType),
		ClientID:     get(VarClientID),
		ClientSecret: getenv(VarClientSecret),
		Username:     get(VarUsername),
		Password:     getenv(VarPassword),
		Scope:        get(VarScope),
		Audience:     get(VarAudience),
		Resource:     strings.Fields(getenv(VarResource)),
	}
	if cfg.GrantType == tokenhelper.GrantRefreshToken {
		return s, &ConfigError{VarGrantType, "refresh_token cannot be configured; use client_credentials or password"}
	}
	if cfg.Encoding, err = tokenhelper.ParseEncoding(get(VarEncoding)); err != nil {
		return s, &ConfigError{VarEncoding, `must be "multipart", "form" or "json"`}
	}
	if cfg.AuthStyle, err = tokenhelper.ParseAuthStyle(get(VarAuthStyle)); err != nil {
		return s, &ConfigError{VarAuthStyle, `must be "body", "basic", "private_key_jwt" or "client_secret_jwt"`}
	}
	if err := loadSigner(&cfg, getenv); err != nil {
		return s, err
	}
	if key := strings.TrimSpace(getenv(VarTokenDPoPKey)); key != "" {
		if s.Mint == nil {
			// In mode pass the browser gets the provider token, and
			// never the key that must prove it.
			return s, &ConfigError{VarTokenDPoPKey, "needs MODE=mint: a DPoP-bound provider token is useless to the browser without the Worker's key"}
		}
		if cfg.DPoP, err = dpop.ParsePEM([]byte(key)); err != nil {
			return s, &ConfigError{VarTokenDPoPKey, "must be a PEM private key, EC P-256 or Ed25519"}
		}
	}
	r, err := cfg.Resolved()
	if err != nil {
		return s, fromCoreError(err)
	}
	s.Token = r
	if s.Caller, err = loadCaller(get); err != nil {
		return s, err
	}
	return s, nil
}

// loadSigner sets the client assertion signer of private_key_jwt (from
// CLIENT_ASSERTION_KEY) and client_secret_jwt (from CLIENT_SECRET). Its
// errors say what is wrong with the key, never what it holds.
func loadSigner(cfg *tokenhelper.Config, getenv func(string) string) error {
	var err error
	switch cfg.AuthStyle {
	case tokenhelper.AuthPrivateKeyJWT:
		key := strings.TrimSpace(getenv(VarAssertionKey))
		if key == "" {
			return &ConfigError{VarAssertionKey, "is required by private_key_jwt"}
		}
		if cfg.Assertion, err = assertion.ParsePrivateKey([]byte(key), strings.TrimSpace(getenv(VarAssertionKID))); err != nil {
			return &ConfigError{VarAssertionKey, "must be a PEM private key: RSA of 2048 bits or more, EC P-256, P-384 or P-521, or Ed25519"}
		}
	case tokenhelper.AuthClientSecretJWT:
		if cfg.ClientSecret == "" {
			return nil // Resolved says it is required
		}
		if cfg.Assertion, err = assertion.HS256(cfg.ClientSecret); err != nil {
			return &ConfigError{VarClientSecret, "must be at least 32 bytes for client_secret_jwt (RFC 7518 3.2)"}
		}
	}
	return nil
}

// fromCoreError turns the core's configuration error into a ConfigError
// naming the variable.
func fromCoreError(err error) error {
	var e *tokenhelper.Error
	if !errors.As(err, &e) {
		return &ConfigError{VarProvider, "is not usable"}
	}
	name, ok := fieldVars[e.Field]
	if !ok {
		name = VarProvider
	}
	if name == VarResource {
		// The core's text quotes the bad URI, which unquote would leave
		// as a dangling "not"; the variable is a list, the field a slice.
		return &ConfigError{name, "must be space-separated absolute URIs without a fragment (RFC 8707 resource indicators)"}
	}
	desc := strings.TrimSpace(unquote(e.Description))
	if desc == "" {
		desc = "is invalid"
	}
	return &ConfigError{name, desc}
}

// parseOrigins reads the comma list of exact origins.
func parseOrigins(list string) (map[string]bool, error) {
	if list == "" {
		return nil, &ConfigError{VarAllowedOrigins, "is required: a comma list of exact origins such as https://app.example.com"}
	}
	out := map[string]bool{}
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if !validOrigin(o) {
			return nil, &ConfigError{VarAllowedOrigins, "holds an entry that is not an exact origin (scheme://host[:port], no path, no wildcard)"}
		}
		out[o] = true
	}
	if len(out) == 0 {
		return nil, &ConfigError{VarAllowedOrigins, "is required"}
	}
	return out, nil
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		!strings.Contains(u.Host, "*") && u.User == nil && u.Path == "" && u.RawQuery == "" &&
		u.Fragment == "" && !strings.HasSuffix(o, "/") && o == strings.ToLower(u.Scheme)+"://"+u.Host
}

// loadCaller reads the optional caller gate.
func loadCaller(get func(string) string) (*CallerSettings, error) {
	c := &CallerSettings{
		Header:   get(VarCallerHeader),
		JWKSURL:  get(VarCallerJWKSURL),
		Issuer:   get(VarCallerIssuer),
		Audience: get(VarCallerAudience),
	}
	if c.JWKSURL == "" {
		if c.Issuer != "" || c.Audience != "" || c.Header != "" {
			return nil, &ConfigError{VarCallerJWKSURL, "is required when CALLER_ISSUER, CALLER_AUDIENCE or CALLER_JWT_HEADER is set"}
		}
		return nil, nil
	}
	if !secureURL(c.JWKSURL) {
		return nil, &ConfigError{VarCallerJWKSURL, "must be an https URL (http only on loopback)"}
	}
	if c.Issuer == "" {
		return nil, &ConfigError{VarCallerIssuer, "is required with CALLER_JWKS_URL"}
	}
	if c.Audience == "" {
		return nil, &ConfigError{VarCallerAudience, "is required with CALLER_JWKS_URL"}
	}
	if c.Header == "" {
		c.Header = "Authorization"
	}
	if !validHeaderName(c.Header) {
		return nil, &ConfigError{VarCallerHeader, "must be an HTTP header name"}
	}
	return c, nil
}

// validHeaderName accepts 1 to 64 letters, digits and dashes.
func validHeaderName(h string) bool {
	if len(h) == 0 || len(h) > 64 {
		return false
	}
	for _, c := range h {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// secureURL accepts https URLs and http URLs on loopback hosts, as the
// core does for token URLs.
func secureURL(raw string) bool { return tokenhelper.CheckURL(raw) == nil }
