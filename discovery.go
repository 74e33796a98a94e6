package tokenhelper

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Metadata is what this package takes from an authorization server's
// metadata (RFC 8414, OpenID Connect Discovery 1.0).
type Metadata struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
	// AuthMethods is token_endpoint_auth_methods_supported; empty means
	// client_secret_basic only (RFC 8414 2), which is not enforced.
	AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	// DPoPAlgs is dpop_signing_alg_values_supported (RFC 9449 5.1).
	DPoPAlgs []string `json:"dpop_signing_alg_values_supported"`
}

// Supports reports whether the server lists the style's method, or lists
// none at all.
func (m *Metadata) Supports(a AuthStyle) bool {
	return len(m.AuthMethods) == 0 || slices.Contains(m.AuthMethods, a.Method())
}

// MaxMetadata caps the bytes read from a metadata document.
const MaxMetadata = 64 << 10

// MetadataTTL is how long discovered metadata is kept in memory.
const MetadataTTL = time.Hour

// MetadataURLs returns where an issuer's metadata is looked for, in
// order: RFC 8414's /.well-known/oauth-authorization-server, inserted
// before the issuer's path, then OpenID Connect Discovery's
// /.well-known/openid-configuration, appended to it.
func MetadataURLs(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	origin := u.Scheme + "://" + u.Host
	return []string{
		origin + "/.well-known/oauth-authorization-server" + path,
		origin + path + "/.well-known/openid-configuration",
	}
}

// ParseMetadata reads a metadata document fetched for issuer. It refuses
// one whose issuer is not exactly the configured one (RFC 8414 3.3, the
// defence against mix-up attacks) or whose token endpoint is not https
// (http on loopback): [ErrBadResponse].
func ParseMetadata(body []byte, issuer string) (*Metadata, error) {
	bad := func(desc string) error {
		return &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Description: "metadata: " + desc}
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, bad("not a JSON object with string members issuer and token_endpoint")
	}
	switch {
	case m.Issuer != issuer:
		return nil, bad("issuer " + quoteShort(m.Issuer) + " is not the configured issuer (RFC 8414 3.3)")
	case m.TokenEndpoint == "":
		return nil, bad("no token_endpoint")
	case checkTokenURL(m.TokenEndpoint) != nil:
		return nil, bad("token_endpoint must be https (http only on loopback), without user info or fragment")
	}
	return &m, nil
}

// MetadataCache holds discovered metadata by issuer for MetadataTTL;
// failures are not kept. The zero value is ready to use.
type MetadataCache struct {
	m sync.Map // issuer -> metadataEntry
}

// sharedMetadata is the cache of Clients without one: this process's, or
// a Worker isolate's.
var sharedMetadata MetadataCache

type metadataEntry struct {
	m     *Metadata
	until time.Time
}

// Discover returns issuer's metadata, from c.Metadata when fetched within
// MetadataTTL, else from the server: RFC 8414's URL, then OpenID Connect
// Discovery's when the first answers 404 (or another 4xx). Errors are
// [ErrConfig] for a bad issuer, [ErrBadResponse] for a bad document,
// [ErrNetwork] and [ErrTimeout]. A document is read up to [MaxMetadata]
// bytes.
func (c *Client) Discover(ctx context.Context, issuer string) (*Metadata, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	cache := c.Metadata
	if cache == nil {
		cache = &sharedMetadata
	}
	now := c.clock().Now()
	if e, ok := cache.m.Load(issuer); ok && now.Before(e.(metadataEntry).until) {
		return e.(metadataEntry).m, nil
	}
	ctx, cancel, err := c.attempt(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var last error
	for _, u := range MetadataURLs(issuer) {
		req := &Request{Method: "GET", URL: u, Header: map[string]string{"Accept": "application/json"}}
		status, _, body, err := c.roundTrip(ctx, req, MaxMetadata)
		if err != nil {
			return nil, err
		}
		if status >= 400 && status < 500 {
			last = &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Status: status, Description: "no metadata at " + u}
			continue
		}
		if status != 200 {
			return nil, &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Status: status, Description: "metadata: unexpected status from " + u}
		}
		m, err := ParseMetadata(body, issuer)
		if err != nil {
			return nil, err
		}
		cache.m.Store(issuer, metadataEntry{m, now.Add(MetadataTTL)})
		return m, nil
	}
	return nil, last
}

// Configure returns cfg with the token endpoint of m, after checking that
// the server lists cfg's client authentication and, with Config.DPoP,
// its key's proof algorithm when the server lists any: an [ErrConfig]
// otherwise.
func (m *Metadata) Configure(cfg Config) (Config, error) {
	if !m.Supports(cfg.AuthStyle) {
		return cfg, configError("AuthStyle", "the issuer's metadata does not list "+cfg.AuthStyle.Method()+" in token_endpoint_auth_methods_supported")
	}
	if a, ok := cfg.DPoP.(interface{ Alg() string }); ok && len(m.DPoPAlgs) > 0 && !slices.Contains(m.DPoPAlgs, a.Alg()) {
		return cfg, configError("DPoP", "the issuer's metadata does not list "+a.Alg()+" in dpop_signing_alg_values_supported")
	}
	cfg.TokenURL = m.TokenEndpoint
	return cfg, nil
}

// discover fills in cfg's token endpoint from its issuer's metadata when
// it has an issuer and no token URL (see [Metadata.Configure]).
func (c *Client) discover(ctx context.Context, cfg Config) (Config, error) {
	if cfg.TokenURL != "" || cfg.Issuer == "" {
		return cfg, nil
	}
	m, err := c.Discover(ctx, cfg.Issuer)
	if err != nil {
		return cfg, err
	}
	return m.Configure(cfg)
}
