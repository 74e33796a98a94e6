package tokenhelper

import (
	"strconv"
	"strings"
	"time"
)

// Token is an access token and what came with it (RFC 6749 section 5.1).
// Its String and GoString methods never print the token values, so a Token
// in a log line or an error message leaks nothing.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// ExpiresIn is the lifetime in seconds as the provider sent it (0 if
	// absent).
	ExpiresIn int64 `json:"expires_in,omitempty"`
	// Expiry is when the token stops working: Obtained plus expires_in, or
	// the access token's exp claim when expires_in is absent. Zero means
	// unknown.
	Expiry time.Time `json:"expiry,omitzero"`
	// Obtained is when the response was received.
	Obtained time.Time `json:"obtained,omitzero"`
}

// Type returns the token type for an Authorization header: "Bearer" for
// any spelling of bearer (Aluma sends "bearer") or when it is absent.
func (t *Token) Type() string {
	if t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer") {
		return "Bearer"
	}
	return t.TokenType
}

// AuthorizationHeader returns the value for an Authorization header.
func (t *Token) AuthorizationHeader() string { return t.Type() + " " + t.AccessToken }

// Lifetime returns Expiry minus Obtained, or 0 when either is unknown.
func (t *Token) Lifetime() time.Duration {
	if t.Expiry.IsZero() || t.Obtained.IsZero() {
		return 0
	}
	return t.Expiry.Sub(t.Obtained)
}

// Remaining returns how long the token still works at now (negative once
// expired), or 0 when the expiry is unknown.
func (t *Token) Remaining(now time.Time) time.Duration {
	if t.Expiry.IsZero() {
		return 0
	}
	return t.Expiry.Sub(now)
}

// String describes the token without its secret values.
func (t *Token) String() string {
	if t == nil {
		return "<nil token>"
	}
	s := "tokenhelper.Token{type=" + t.Type() + ", access_token=" + Mask
	if t.RefreshToken != "" {
		s += ", refresh_token=" + Mask
	}
	if t.IDToken != "" {
		s += ", id_token=" + Mask
	}
	if t.Scope != "" {
		s += ", scope=" + strconv.Quote(t.Scope)
	}
	if !t.Expiry.IsZero() {
		s += ", expiry=" + t.Expiry.UTC().Format(time.RFC3339)
	}
	return s + "}"
}

// GoString is String, so that %#v does not print the token either.
func (t *Token) GoString() string { return t.String() }
