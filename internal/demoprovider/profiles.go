package demoprovider

import (
	"slices"
	"strings"
)

// Media types a token request body can be sent as.
const (
	mediaMultipart = "multipart/form-data"
	mediaForm      = "application/x-www-form-urlencoded"
	mediaJSON      = "application/json"
)

// Grant types (RFC 6749).
const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantRefreshToken      = "refresh_token"
)

// Provider families: profiles of one family share their dialect.
const (
	familyAlphaus  = "alphaus"
	familyAluma    = "aluma"
	familyAlluvial = "alluvial"
	familyCustom   = "custom"
)

// alluvialScope is the scope Alluvial (Auth0) reports on every token.
const alluvialScope = "read:portfolio read:positions"

// profile describes one provider dialect and where it is served.
type profile struct {
	id     string
	family string
	path   string
	// media lists the accepted Content-Type media types.
	media []string
	// grants lists the supported grant_type values.
	grants []string
	// basicAuth reports whether HTTP Basic client authentication is
	// accepted (otherwise the credentials must be in the body).
	basicAuth bool
	// audience is the audience an Alluvial profile requires.
	audience string
	// tokenType is the token_type the provider answers with.
	tokenType string
	// refresh reports whether the profile issues refresh tokens.
	refresh bool
}

// profiles is the table of supported provider profiles, in display order.
var profiles = []*profile{
	{
		id: "alphaus-ripple", family: familyAlphaus,
		path:      "/alphaus-ripple/ripple/access_token",
		media:     []string{mediaMultipart},
		grants:    []string{grantClientCredentials, grantPassword, grantRefreshToken},
		tokenType: "Bearer", refresh: true,
	},
	{
		id: "alphaus-wave", family: familyAlphaus,
		path:      "/alphaus-wave/access_token",
		media:     []string{mediaMultipart},
		grants:    []string{grantClientCredentials, grantPassword, grantRefreshToken},
		tokenType: "Bearer", refresh: true,
	},
	{
		id: "aluma", family: familyAluma,
		path:      "/aluma/oauth/token",
		media:     []string{mediaForm},
		grants:    []string{grantClientCredentials},
		tokenType: "bearer",
	},
	{
		id: "alluvial", family: familyAlluvial,
		path:      "/alluvial/oauth/token",
		media:     []string{mediaJSON},
		grants:    []string{grantClientCredentials},
		audience:  "https://api.alluvial.finance",
		tokenType: "Bearer",
	},
	{
		id: "alluvial-staging", family: familyAlluvial,
		path:      "/alluvial-staging/oauth/token",
		media:     []string{mediaJSON},
		grants:    []string{grantClientCredentials},
		audience:  "https://api.staging.alluvial.finance",
		tokenType: "Bearer",
	},
	{
		id: "custom", family: familyCustom,
		path:      "/custom/token",
		media:     []string{mediaMultipart, mediaForm, mediaJSON},
		grants:    []string{grantClientCredentials, grantPassword, grantRefreshToken},
		basicAuth: true, tokenType: "Bearer", refresh: true,
	},
}

// Profiles returns the ids of every profile the server speaks, in a stable
// order.
func Profiles() []string {
	ids := make([]string, len(profiles))
	for i, p := range profiles {
		ids[i] = p.id
	}
	return ids
}

// Path returns the token endpoint path of a profile, or "" for an unknown
// profile id.
func Path(profile string) string {
	for _, p := range profiles {
		if p.id == profile {
			return p.path
		}
	}
	return ""
}

// profileForPath returns the profile served at path, or nil.
func profileForPath(path string) *profile {
	for _, p := range profiles {
		if p.path == path {
			return p
		}
	}
	return nil
}

func (p *profile) acceptsMedia(mt string) bool { return slices.Contains(p.media, mt) }

func (p *profile) supportsGrant(g string) bool { return slices.Contains(p.grants, g) }

// mediaDescription names the accepted content types for an error message.
func (p *profile) mediaDescription() string {
	switch len(p.media) {
	case 1:
		return p.media[0]
	default:
		return "one of " + strings.Join(p.media, ", ")
	}
}
