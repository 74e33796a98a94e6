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
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
)

// JWKS caching: a fetched key set is reused for jwksTTL (in the isolate's
// memory, see callerKeySet, and in the Store); a token whose kid is not in
// the set triggers one refetch (key rotation), at most once per
// jwksRefetch however many such tokens arrive.
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
	load := func(ctx context.Context, refetch bool) (*verify.JWKS, time.Time, *gateError) {
		return h.loadJWKS(ctx, c.JWKSURL, refetch)
	}
	keys, gerr := h.callerJWKS.get(ctx, h.now(), false, load)
	if gerr != nil {
		return "", gerr
	}
	opts := verify.Options{Issuer: c.Issuer, Audience: c.Audience, Now: h.now}
	claims, err := verify.JWT(raw, keys, opts)
	if err != nil && isUnknownKey(err) {
		again, gerr := h.callerJWKS.get(ctx, h.now(), true, load)
		if gerr != nil {
			return "", gerr
		}
		if again != keys {
			claims, err = verify.JWT(raw, again, opts)
		}
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

// callerKeySet is the caller key set a Handler keeps in memory for the
// isolate's life, within jwksTTL of its fetch: the Store alone is not
// enough, since the Cache API stores nothing on *.workers.dev nor in bare
// workerd, where every caller JWT, garbage included, had cost a fetch of
// the JWKS. It is bounded: one set (the route's JWKS_URL), parsed from a
// document of at most jwksMaxBytes and verify.MaxJWKSKeys keys. The
// requests that need it while it is being fetched wait on that one fetch
// and share its outcome; a failure is not kept.
type callerKeySet struct {
	mu      sync.Mutex
	keys    *verify.JWKS
	fetched time.Time // when keys were fetched, by this isolate or, through the Store, another
	asked   time.Time // the last refetch for a kid keys did not hold
	flight  *jwksFlight
}

// jwksFlight is one load of the key set, shared by those who wait on it.
type jwksFlight struct {
	done chan struct{} // closed once keys or err is set
	keys *verify.JWKS
	at   time.Time
	err  *gateError
}

// get returns the key set, loading it when none is held within jwksTTL.
// refetch, asked for a token whose kid the set did not hold (a key
// rotation, or a forged kid), loads it again at most once per
// jwksRefetch; in between it returns the set held.
func (c *callerKeySet) get(ctx context.Context, now time.Time, refetch bool,
	load func(ctx context.Context, refetch bool) (*verify.JWKS, time.Time, *gateError)) (*verify.JWKS, *gateError) {
	c.mu.Lock()
	if c.keys != nil && now.Sub(c.fetched) < jwksTTL && (!refetch || now.Sub(c.asked) < jwksRefetch) {
		k := c.keys
		c.mu.Unlock()
		return k, nil
	}
	if refetch {
		c.asked = now
	}
	f := c.flight
	if f == nil {
		f = &jwksFlight{done: make(chan struct{})}
		c.flight = f
		c.mu.Unlock()
		func() {
			// Even if load panics, the flight ends (as a failure for
			// those waiting on it) and the next request loads again.
			defer func() {
				c.mu.Lock()
				c.flight = nil
				if f.err == nil {
					// A set just loaded is as current as a refetch would make it.
					c.keys, c.fetched, c.asked = f.keys, f.at, f.at
				}
				c.mu.Unlock()
				close(f.done)
			}()
			f.err = &gateError{http.StatusServiceUnavailable, tokenhelper.CodeNetwork, "the caller JWKS could not be fetched"}
			f.keys, f.at, f.err = load(ctx, refetch)
		}()
	} else {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, &gateError{http.StatusGatewayTimeout, tokenhelper.CodeTimeout, "the caller JWKS did not arrive in time"}
		}
	}
	return f.keys, f.err
}

// loadJWKS reads the key set from the Store (unless refetch is asked and
// the stored copy is older than jwksRefetch), else fetches it with the
// Handler's Transport and stores it. at is when it was fetched.
func (h *Handler) loadJWKS(ctx context.Context, url string, refetch bool) (keys *verify.JWKS, at time.Time, gerr *gateError) {
	sum := sha256.Sum256([]byte(url))
	key := "jwks1-" + hex.EncodeToString(sum[:16])
	now := h.now()
	if h.Store != nil {
		var c cachedJWKS
		if b, err := h.Store.Get(ctx, key); err == nil && b != nil && json.Unmarshal(b, &c) == nil &&
			now.Sub(c.Fetched) < jwksTTL && (!refetch || now.Sub(c.Fetched) < jwksRefetch) {
			if k, err := verify.ParseJWKS(c.Doc); err == nil {
				return k, c.Fetched, nil
			}
		}
	}
	doc, gerr := h.fetchJWKS(ctx, url)
	if gerr != nil {
		return nil, time.Time{}, gerr
	}
	k, err := verify.ParseJWKS(doc)
	if err != nil {
		return nil, time.Time{}, &gateError{http.StatusBadGateway, "bad_response", "the caller JWKS is not a usable key set"}
	}
	if h.Store != nil {
		if b, err := json.Marshal(cachedJWKS{Doc: doc, Fetched: now}); err == nil {
			h.Store.Put(ctx, key, b, jwksTTL)
		}
	}
	return k, now, nil
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
