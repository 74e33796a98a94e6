package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/tokenhelper/tokenhelper/verify"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
)

// JWKS caching: a fetched key set is reused for jwksTTL; a token whose kid
// is not in a cached set triggers one refetch (key rotation), at most once
// per jwksRefetch.
const (
	jwksTTL      = 10 * time.Minute
	jwksRefetch  = time.Minute
	jwksMaxBytes = 256 << 10
)

// gateError is a refused caller (401) or a JWKS that could not be had
// (503/504).
type gateError struct {
	status int
	code   string
	desc   string
}

func (e *gateError) Error() string { return e.code + ": " + e.desc }

// checkCaller verifies the caller JWT and returns its subject, or a
// gateError.
func (h *Handler) checkCaller(ctx context.Context, r *http.Request, c *CallerSettings) (string, *gateError) {
	raw := strings.TrimSpace(r.Header.Get(c.Header))
	if strings.EqualFold(c.Header, "Authorization") {
		scheme, tok, ok := strings.Cut(raw, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			raw = ""
		} else {
			raw = strings.TrimSpace(tok)
		}
	}
	if raw == "" {
		return "", &gateError{http.StatusUnauthorized, "invalid_token", "a caller JWT is required in " + c.Header}
	}
	keys, cached, gerr := h.callerKeys(ctx, c.JWKSURL, false)
	if gerr != nil {
		return "", gerr
	}
	opts := verify.Options{Issuer: c.Issuer, Audience: c.Audience, Now: h.now}
	claims, err := verify.JWT(raw, keys, opts)
	if err != nil && cached && isUnknownKey(err) {
		if keys, _, gerr = h.callerKeys(ctx, c.JWKSURL, true); gerr != nil {
			return "", gerr
		}
		claims, err = verify.JWT(raw, keys, opts)
	}
	if err != nil {
		return "", &gateError{http.StatusUnauthorized, "invalid_token", "caller JWT not accepted: " + jwtReason(err)}
	}
	sub, _ := claims.GetSubject()
	return sub, nil
}

// isUnknownKey reports a token signed with a key the set does not hold.
func isUnknownKey(err error) bool {
	return errors.Is(err, jwt.ErrTokenUnverifiable) || strings.Contains(err.Error(), "no key in the JWKS")
}

// jwtReason says why a token was refused without quoting any of it.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "algorithm or key not accepted"
	}
	return "invalid"
}

// cachedJWKS is a key set document as kept in the Store.
type cachedJWKS struct {
	Doc     []byte    `json:"doc"`
	Fetched time.Time `json:"fetched"`
}

// callerKeys returns the caller key set: from the Store unless refetch is
// asked (and the cached copy is older than jwksRefetch), else fetched with
// the Handler's Transport. cached reports a copy from the Store.
func (h *Handler) callerKeys(ctx context.Context, url string, refetch bool) (keys *verify.JWKS, cached bool, gerr *gateError) {
	sum := sha256.Sum256([]byte(url))
	key := "jwks1-" + hex.EncodeToString(sum[:16])
	if h.Store != nil {
		var c cachedJWKS
		if b, err := h.Store.Get(ctx, key); err == nil && b != nil && json.Unmarshal(b, &c) == nil {
			if !refetch || h.now().Sub(c.Fetched) < jwksRefetch {
				if k, err := verify.ParseJWKS(c.Doc); err == nil {
					return k, !refetch, nil
				}
			}
		}
	}
	doc, gerr := h.fetchJWKS(ctx, url)
	if gerr != nil {
		return nil, false, gerr
	}
	k, err := verify.ParseJWKS(doc)
	if err != nil {
		return nil, false, &gateError{http.StatusBadGateway, "bad_response", "the caller JWKS is not a usable key set"}
	}
	if h.Store != nil {
		if b, err := json.Marshal(cachedJWKS{Doc: doc, Fetched: h.now()}); err == nil {
			h.Store.Put(ctx, key, b, jwksTTL)
		}
	}
	return k, false, nil
}

// fetchJWKS GETs the key set with the Handler's Transport.
func (h *Handler) fetchJWKS(ctx context.Context, url string) ([]byte, *gateError) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	req := &tokenhelper.Request{Method: http.MethodGet, URL: url, Header: map[string]string{"Accept": "application/json"}}
	resp, err := h.Transport.RoundTrip(ctx, req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, &gateError{http.StatusGatewayTimeout, tokenhelper.CodeTimeout, "the caller JWKS did not arrive in time"}
		}
		return nil, &gateError{http.StatusServiceUnavailable, tokenhelper.CodeNetwork, "the caller JWKS could not be fetched"}
	}
	var body []byte
	if resp.Body != nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
		resp.Body.Close()
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, &gateError{http.StatusGatewayTimeout, tokenhelper.CodeTimeout, "the caller JWKS did not arrive in time"}
	case err != nil:
		return nil, &gateError{http.StatusServiceUnavailable, tokenhelper.CodeNetwork, "the caller JWKS could not be read"}
	case resp.Status >= 500 || resp.Status == 429:
		return nil, &gateError{http.StatusServiceUnavailable, "temporarily_unavailable", "the caller JWKS endpoint is unavailable"}
	case resp.Status != 200 || len(body) > jwksMaxBytes:
		return nil, &gateError{http.StatusBadGateway, tokenhelper.CodeBadResponse, "the caller JWKS endpoint did not answer with a key set"}
	}
	return body, nil
}
