package worker

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenhelper/tokenhelper/worker/apiproxy"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
	"github.com/tokenhelper/tokenhelper/worker/mint"
)

// jwksPath publishes the public halves of EdDSA/ES256 signing keys.
const jwksPath = "/.well-known/jwks.json"

// apiHeaders are the request headers a page may send to /api/.
const apiHeaders = "Authorization, Content-Type, Accept, Accept-Language, Content-Language, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, Range"

// minter returns the settings' Minter bound to this request: the issuer is
// the worker's own origin and the route's Base, the clock the Handler's.
func (h *Handler) minter(r *http.Request, s *Settings) *mint.Minter {
	m := s.Mint.Minter
	m.Issuer = issuer(r) + h.Base
	m.Now = h.now
	return &m
}

// mintToken answers POST /token in mode mint: a worker-signed JWT for the
// admitted origin, never the provider's token.
func (h *Handler) mintToken(w http.ResponseWriter, r *http.Request, s *Settings, origin, subject string) {
	tok, exp, err := h.minter(r, s).Mint(origin, subject)
	if err != nil {
		respond.Error(w, http.StatusInternalServerError, "server_error", "could not sign a token")
		return
	}
	respond.JSON(w, http.StatusOK, tokenBody{AccessToken: tok, TokenType: "Bearer", ExpiresIn: max(1, int64(exp.Sub(h.now())/time.Second))})
}

// serveAPI forwards /api/... for an admitted origin holding a minted token
// issued to that same origin; the upstream is never contacted otherwise.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	s, origin, ok := h.admit(w, r)
	if !ok {
		return
	}
	if s.Mint == nil {
		respond.Error(w, http.StatusNotFound, "not_found", "/api/ is only served in mode mint")
		return
	}
	if r.Method == http.MethodOptions {
		preflight(w, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", apiHeaders)
		return
	}
	// The page may read the upstream headers that are passed on.
	w.Header().Set("Access-Control-Expose-Headers", apiproxy.ExposedResponseHeaders)
	scheme, raw, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") || len(r.Header.Values("Authorization")) != 1 {
		raw = ""
	}
	if reason := h.verify(r, s, strings.TrimSpace(raw), origin); reason != "" {
		h.refuse(reason)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		respond.Error(w, http.StatusUnauthorized, "invalid_token", "a token minted by this worker for this origin is required; POST /token for one")
		return
	}
	src, err := h.source(s)
	if err != nil {
		writeMisconfigured(w, fromCoreError(err))
		return
	}
	p := &apiproxy.Proxy{Upstream: s.Mint.Upstream, Transport: h.Transport, Token: src.Token, Invalidate: src.Invalidate, Timeout: h.timeout(), Redact: scrubber(s.Token),
		Public: issuer(r) + h.Base + "/api", Refused: h.refuse}
	if h.PlanAPI {
		// The entry module forwards, streaming the bodies (see Plan).
		p.MaxBody = s.Mint.MaxRequestBody
		p.ServePlan(w, r)
		return
	}
	p.ServeHTTP(w, r)
}

// serveJWKS publishes the public signing keys (an empty set for HS256).
func (h *Handler) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s, err := h.loadSettings()
	if err != nil || s.Mint == nil {
		w.Header().Set("Vary", "Origin")
		h.allowOrigin(w, r)
		respond.Error(w, http.StatusNotFound, "not_found", "keys are only published in mode mint")
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("Content-Type", "application/jwk-set+json")
	w.Write(h.minter(r, s).JWKS())
}

// issuer is the worker's own origin, the iss of the tokens it mints.
func issuer(r *http.Request) string {
	scheme := r.URL.Scheme
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return scheme + "://" + host
}

// verify checks a minted token for origin, once per token: a token
// already verified is taken until its exp (see verifiedCache). It returns
// "" for a good token, else the refusal's reason (RefuseExpiredToken or
// RefuseInvalidToken).
func (h *Handler) verify(r *http.Request, s *Settings, token, origin string) string {
	m := h.minter(r, s)
	key := verifiedKey(m.Issuer, origin, token)
	if h.verified.valid(key, h.now()) {
		return ""
	}
	claims, err := m.Verify(token, origin)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return RefuseExpiredToken
		}
		return RefuseInvalidToken
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		h.verified.add(key, exp.Time)
	}
	return ""
}
