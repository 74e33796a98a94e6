package tokenhelper

import "strings"

// Encoding is the body format of a token request.
type Encoding int

// The request body encodings the token endpoints speak.
const (
	// EncodingDefault means "the provider profile's encoding".
	EncodingDefault Encoding = iota
	// EncodingMultipart sends multipart/form-data, as curl -F does.
	EncodingMultipart
	// EncodingForm sends application/x-www-form-urlencoded (RFC 6749 4.4.2).
	EncodingForm
	// EncodingJSON sends application/json, as Auth0-style endpoints expect.
	EncodingJSON
)

var encodingNames = [...]string{"", "multipart", "form", "json"}

// String returns "multipart", "form", "json", or "" for EncodingDefault.
func (e Encoding) String() string {
	if e < 0 || int(e) >= len(encodingNames) {
		return "invalid"
	}
	return encodingNames[e]
}

// ParseEncoding parses "multipart", "form" (or "urlencoded") and "json";
// the empty string is EncodingDefault.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return EncodingDefault, nil
	case "multipart", "multipart/form-data":
		return EncodingMultipart, nil
	case "form", "urlencoded", "application/x-www-form-urlencoded":
		return EncodingForm, nil
	case "json", "application/json":
		return EncodingJSON, nil
	}
	return EncodingDefault, configError("Encoding", `must be "multipart", "form" or "json"`)
}

// AuthStyle says where the client credentials go (RFC 6749 section 2.3.1).
type AuthStyle int

const (
	// AuthInBody sends client_id and client_secret as body fields.
	AuthInBody AuthStyle = iota
	// AuthBasic sends them in an HTTP Basic Authorization header.
	AuthBasic
	// AuthPrivateKeyJWT sends a client assertion signed with the client's
	// private key (RFC 7523 section 2.2, OpenID Connect Core section 9
	// "private_key_jwt"); Config.Assertion signs it.
	AuthPrivateKeyJWT
	// AuthClientSecretJWT sends a client assertion signed with the client
	// secret by HMAC ("client_secret_jwt"); Config.Assertion signs it.
	AuthClientSecretJWT
)

var authStyleNames = [...]string{"body", "basic", "private_key_jwt", "client_secret_jwt"}

// authMethods are the RFC 8414 token_endpoint_auth_methods_supported
// names of the styles, by AuthStyle.
var authMethods = [...]string{"client_secret_post", "client_secret_basic", "private_key_jwt", "client_secret_jwt"}

// Method returns the style's registered name (RFC 8414, OAuth Token
// Endpoint Authentication Methods): client_secret_post,
// client_secret_basic, private_key_jwt or client_secret_jwt.
func (a AuthStyle) Method() string {
	if a < 0 || int(a) >= len(authMethods) {
		return "invalid"
	}
	return authMethods[a]
}

// String returns "body", "basic", "private_key_jwt" or "client_secret_jwt".
func (a AuthStyle) String() string {
	if a < 0 || int(a) >= len(authStyleNames) {
		return "invalid"
	}
	return authStyleNames[a]
}

// ParseAuthStyle parses "body", "basic", "private_key_jwt" and
// "client_secret_jwt" (and the names client_secret_post and
// client_secret_basic); the empty string is AuthInBody, the default.
func ParseAuthStyle(s string) (AuthStyle, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "body", "client_secret_post":
		return AuthInBody, nil
	case "basic", "client_secret_basic":
		return AuthBasic, nil
	case "private_key_jwt":
		return AuthPrivateKeyJWT, nil
	case "client_secret_jwt":
		return AuthClientSecretJWT, nil
	}
	return AuthInBody, configError("AuthStyle", authStyleChoice)
}

const authStyleChoice = `must be "body", "basic", "private_key_jwt" or "client_secret_jwt"`

// Grant types (RFC 6749 sections 4.3, 4.4 and 6).
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
)

// Provider is a built-in token endpoint profile: where to send and in which
// dialect. See [Providers] for the list.
type Provider struct {
	// ID names the profile, e.g. "alphaus-ripple".
	ID string
	// Name is a human-readable label.
	Name string
	// TokenURL is the provider's token endpoint.
	TokenURL string
	// Encoding is the body format the endpoint requires.
	Encoding Encoding
	// Grants lists the grant types the endpoint accepts.
	Grants []string
	// Scope is sent when the Config sets none (Alphaus requires openid).
	Scope string
	// Audience is sent when the Config sets none (Auth0-style endpoints).
	Audience string
	// NeedsAudience makes a missing audience a configuration error.
	NeedsAudience bool
	// Notes says what a user should know about the endpoint.
	Notes string
}

// ProviderCustom is the profile ID for any other endpoint: the Config gives
// TokenURL, Encoding and AuthStyle.
const ProviderCustom = "custom"

var providers = []Provider{
	{
		ID: "alphaus-ripple", Name: "Alphaus Ripple",
		TokenURL: "https://login.alphaus.cloud/ripple/access_token",
		Encoding: EncodingMultipart, Scope: "openid",
		Grants: []string{GrantClientCredentials, GrantPassword, GrantRefreshToken},
		Notes:  "Ripple tokens only work on Ripple endpoints.",
	},
	{
		ID: "alphaus-wave", Name: "Alphaus Wave",
		TokenURL: "https://login.alphaus.cloud/access_token",
		Encoding: EncodingMultipart, Scope: "openid",
		Grants: []string{GrantClientCredentials, GrantPassword, GrantRefreshToken},
		Notes:  "Wave tokens only work on Wave endpoints.",
	},
	{
		ID: "aluma", Name: "Aluma",
		TokenURL: "https://api.aluma.io/oauth/token",
		Encoding: EncodingForm,
		Grants:   []string{GrantClientCredentials},
		Notes:    "Renew shortly before expires_in; expired tokens get 401.",
	},
	{
		ID: "alluvial", Name: "Alluvial",
		TokenURL: "https://auth.alluvial.finance/oauth/token",
		Encoding: EncodingJSON, Audience: "https://api.alluvial.finance", NeedsAudience: true,
		Grants: []string{GrantClientCredentials},
		Notes:  "Auth0-style: audience is required.",
	},
	{
		ID: "alluvial-staging", Name: "Alluvial (staging)",
		TokenURL: "https://auth.alluvial.finance/oauth/token",
		Encoding: EncodingJSON, Audience: "https://api.staging.alluvial.finance", NeedsAudience: true,
		Grants: []string{GrantClientCredentials},
		Notes:  "Auth0-style: audience is required.",
	},
	{
		ID: ProviderCustom, Name: "Custom endpoint",
		Grants: []string{GrantClientCredentials, GrantPassword, GrantRefreshToken},
		Notes:  "Any URL; choose the encoding and where the client credentials go.",
	},
}

// Providers returns the built-in profiles, "custom" last.
func Providers() []Provider {
	out := make([]Provider, len(providers))
	copy(out, providers)
	return out
}

// LookupProvider returns the built-in profile with the given ID.
func LookupProvider(id string) (Provider, bool) {
	for _, p := range providers {
		if p.ID == id {
			return p, true
		}
	}
	return Provider{}, false
}

func (p Provider) accepts(grant string) bool {
	for _, g := range p.Grants {
		if g == grant {
			return true
		}
	}
	return false
}
