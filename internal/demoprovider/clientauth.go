package demoprovider

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// authenticateClient checks the client credentials (RFC 6749 2.3.1) and
// returns the client id.
func (s *Server) authenticateClient(req *tokenRequest) (string, *oauthError) {
	bodyID, oe := req.params.get("client_id")
	if oe != nil {
		return "", oe
	}
	bodySecret, oe := req.params.get("client_secret")
	if oe != nil {
		return "", oe
	}
	if req.r.Header.Get("Authorization") != "" {
		if bodySecret != "" {
			return "", invalidRequest("client authenticated both with HTTP Basic and with client_secret in the body; use exactly one method (RFC 6749 2.3.1)")
		}
		if !req.p.basicAuth {
			return "", invalidClient(req.p.id + " expects client_id and client_secret in the request body; an Authorization header is not accepted")
		}
		id, secret, ok := basicCredentials(req.r)
		if !ok {
			return "", invalidClient("malformed Authorization header; expected HTTP Basic with form-urlencoded client_id and client_secret")
		}
		if bodyID != "" && bodyID != id {
			return "", invalidRequest("client_id in the body does not match the HTTP Basic client")
		}
		return id, s.checkClient(id, secret)
	}
	if bodyID == "" {
		return "", invalidClient("missing client authentication: send client_id and client_secret")
	}
	if bodySecret == "" {
		return "", invalidClient("missing client_secret")
	}
	return bodyID, s.checkClient(bodyID, bodySecret)
}

// isBasic reports whether an Authorization header uses the Basic scheme.
func isBasic(authz string) bool {
	return len(authz) >= 6 && strings.EqualFold(authz[:6], "Basic ")
}

// basicCredentials decodes HTTP Basic credentials, whose parts RFC 6749
// 2.3.1 form-urlencodes before base64.
func basicCredentials(r *http.Request) (id, secret string, ok bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

func (s *Server) checkClient(id, secret string) *oauthError {
	if !equal(id, s.opts.ClientID) {
		return invalidClient("unknown client")
	}
	if !equal(secret, s.opts.ClientSecret) {
		return invalidClient("client authentication failed")
	}
	return nil
}

// equal compares in constant time for equal lengths.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
