package tokenhelper

import (
	"net/netip"
	"net/url"
	"strings"
)

// Config says which token to get and how. Empty fields take the provider
// profile's defaults; [BuildRequest] checks the result before anything is
// sent, so a missing password is an [ErrConfig], not a request.
type Config struct {
	// Provider is a built-in profile ID (see [Providers]) or "custom".
	// Empty means "custom" when TokenURL or Issuer is set.
	Provider string
	// TokenURL replaces the profile's token endpoint, e.g. to point a
	// profile at a test server. Required for "custom" unless Issuer is
	// set. It must be https, or http on a loopback host.
	TokenURL string
	// Issuer is a custom provider's issuer identifier (RFC 8414). Without
	// TokenURL, [Client.Token] discovers the token endpoint from the
	// issuer's metadata (see [Client.Discover]); with a client assertion
	// it is the assertion's audience.
	Issuer string
	// Encoding is the body format; only "custom" may choose it (default
	// EncodingForm, as RFC 6749 specifies).
	Encoding Encoding
	// AuthStyle puts the client credentials in the body (default), in an
	// HTTP Basic header, or sends a signed client assertion instead
	// (private_key_jwt, client_secret_jwt); only "custom" may choose
	// another than the body.
	AuthStyle AuthStyle
	// Assertion signs the client assertion of AuthPrivateKeyJWT and
	// AuthClientSecretJWT (package assertion makes one from a PEM key or
	// from the secret). Through it, this package builds the assertion
	// without importing any cryptography.
	Assertion AssertionSigner
	// GrantType is client_credentials (default), password or refresh_token.
	GrantType string
	// ClientID and ClientSecret identify the client. The secret is never
	// included in an error, a log line or the curl rendering of a request.
	ClientID     string
	ClientSecret string
	// Username and Password are required by the password grant.
	Username string
	Password string
	// RefreshToken is required by the refresh_token grant.
	RefreshToken string
	// Scope and Audience override the profile's defaults.
	Scope    string
	Audience string
	// Resource names the APIs the token is for (RFC 8707 resource
	// indicators, sent as one "resource" parameter each): absolute URIs
	// without a fragment. Standard servers (oidc-provider) take these
	// where Auth0-style ones take Audience.
	Resource []string
	// DPoP, when set, binds the tokens to the key of this prover (RFC
	// 9449, custom providers only): each token request carries a fresh
	// proof by it, a use_dpop_nonce answer is retried once with the
	// server's nonce (remembered for the next requests), and the server
	// answers token_type "DPoP". Such a token is useless without a proof
	// by the same key at the API: nethttp.NewClient adds one to each
	// request. Package dpop makes a prover (dpop.Prover). The tokens are
	// cached under the key's thumbprint.
	DPoP DPoPProver
}

// Resolved returns the configuration with the profile's defaults applied,
// or an [*Error] of kind [ErrConfig] naming the field at fault.
func (c Config) Resolved() (Config, error) {
	id := c.Provider
	if id == "" {
		if c.TokenURL == "" && c.Issuer == "" {
			return c, configError("Provider", "set a provider profile, a token URL or an issuer")
		}
		id = ProviderCustom
	}
	p, ok := LookupProvider(id)
	if !ok {
		return c, configError("Provider", "unknown provider "+strings.TrimSpace(quoteShort(id)))
	}
	c.Provider = id
	if c.TokenURL == "" {
		c.TokenURL = p.TokenURL
	}
	if c.Issuer != "" {
		if id != ProviderCustom {
			return c, configError("Issuer", "only for a custom provider")
		}
		if err := checkIssuer(c.Issuer); err != nil {
			return c, err
		}
	}
	switch {
	case c.TokenURL == "" && c.Issuer == "":
		return c, configError("TokenURL", "required for a custom provider (or an issuer to discover it from)")
	case c.TokenURL != "":
		if err := checkTokenURL(c.TokenURL); err != nil {
			return c, err
		}
	}
	if id == ProviderCustom {
		if c.Encoding == EncodingDefault {
			c.Encoding = EncodingForm
		}
	} else {
		if c.Encoding != EncodingDefault && c.Encoding != p.Encoding {
			return c, configError("Encoding", p.ID+" requires "+p.Encoding.String())
		}
		c.Encoding = p.Encoding
		if c.AuthStyle != AuthInBody {
			return c, configError("AuthStyle", p.ID+" takes the client credentials in the body")
		}
		if c.DPoP != nil {
			return c, configError("DPoP", "is for custom providers only: "+p.ID+" takes no DPoP proofs")
		}
	}
	if c.Encoding < EncodingMultipart || c.Encoding > EncodingJSON {
		return c, configError("Encoding", `must be "multipart", "form" or "json"`)
	}
	if c.AuthStyle < AuthInBody || c.AuthStyle > AuthClientSecretJWT {
		return c, configError("AuthStyle", authStyleChoice)
	}
	if c.GrantType == "" {
		c.GrantType = GrantClientCredentials
	}
	if !p.accepts(c.GrantType) {
		return c, configError("GrantType", p.ID+" does not accept grant type "+quoteShort(c.GrantType))
	}
	if c.Scope == "" {
		c.Scope = p.Scope
	}
	if c.Audience == "" {
		c.Audience = p.Audience
	}
	switch {
	case c.ClientID == "":
		return c, configError("ClientID", "required")
	case c.ClientSecret == "" && id != ProviderCustom:
		return c, configError("ClientSecret", "required by "+p.ID)
	case c.AuthStyle == AuthBasic && c.ClientSecret == "":
		return c, configError("ClientSecret", "required for HTTP Basic client authentication")
	case c.AuthStyle == AuthClientSecretJWT && c.ClientSecret == "":
		return c, configError("ClientSecret", "required by client_secret_jwt (it keys the assertion's HMAC)")
	case c.AuthStyle.assertion() && c.Assertion == nil:
		return c, configError("Assertion", c.AuthStyle.String()+" needs a signer (package assertion)")
	case p.NeedsAudience && c.Audience == "":
		return c, configError("Audience", "required by "+p.ID)
	}
	for _, r := range c.Resource {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" || strings.ContainsAny(r, " \t\r\n#") {
			return c, configError("Resource", "each must be an absolute URI without a fragment (RFC 8707 2), not "+quoteShort(r))
		}
	}
	switch c.GrantType {
	case GrantPassword:
		if c.Username == "" {
			return c, configError("Username", "required by the password grant")
		}
		if c.Password == "" {
			return c, configError("Password", "required by the password grant")
		}
	case GrantRefreshToken:
		if c.RefreshToken == "" {
			return c, configError("RefreshToken", "required by the refresh_token grant")
		}
	}
	return c, nil
}

// CheckURL reports whether raw is safe to send credentials or tokens to:
// an absolute https URL, or http on a loopback host, without user info or
// fragment. The error is an [ErrConfig] *Error (Field "TokenURL").
func CheckURL(raw string) error { return checkTokenURL(raw) }

// checkTokenURL refuses URLs that would send credentials in clear text to
// another machine: only https, or http to a loopback address, is allowed.
func checkTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return configError("TokenURL", "must be an absolute http(s) URL without user info or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return configError("TokenURL", "http is only allowed for loopback hosts; use https")
	}
	return configError("TokenURL", "scheme must be https")
}

// checkIssuer checks an issuer identifier as RFC 8414 section 2 wants it:
// an https URL (http on loopback, like a token URL) without query or
// fragment.
func checkIssuer(raw string) error {
	if err := checkTokenURL(raw); err != nil {
		e := err.(*Error)
		e.Field = "Issuer"
		return e
	}
	if strings.Contains(raw, "?") {
		return configError("Issuer", "must have no query (RFC 8414 2)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// quoteShort quotes a user-supplied value for an error message, cut to a
// length that cannot carry much.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
