package worker

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/worker/apiproxy"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
	"github.com/tokenhelper/tokenhelper/worker/mint"
)

// jwksPath publishes the public halves of EdDSA/ES256 signing keys.
const jwksPath = "/.well-known/jwks.json"

// apiHeaders are the request headers a page may send to /api/.
const apiHeaders = "Authorization, DPoP, Content-Type, Accept, Accept-Language, Content-Language, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, Range"

// minter returns the settings' Minter bound to this request: the issuer is
// the worker's own origin and the route's Base, the clock the Handler's.
func (h *Handler) minter(r *http.Request, s *Settings) *mint.Minter {
	m := s.Mint.Minter
	m.Issuer = issuer(r) + h.Base
	m.Now = h.now
	return &m
}

// mintToken answers POST /token in mode mint: a worker-signed JWT for the
// admitted origin, never the provider's token. With a valid DPoP proof
// (and DPOP not off) the token is bound to the proof's key: token_type
// DPoP and cnf.jkt (RFC 9449 5 and 6.1); DPOP=required refuses a request
// without one.
func (h *Handler) mintToken(w http.ResponseWriter, r *http.Request, s *Settings, origin, subject string) {
	var jkt string
	if s.DPoP != DPoPOff && (len(r.Header.Values("DPoP")) > 0 || s.DPoP == DPoPRequired) {
		p, err := h.checkProof(r, "")
		if err != nil {
			h.refuseProof(w, err, http.StatusBadRequest, "")
			return
		}
		jkt = p.JKT
	}
	tok, exp, err := h.minter(r, s).MintBound(origin, subject, jkt)
	if err != nil {
		respond.Error(w, http.StatusInternalServerError, "server_error", "could not sign a token")
		return
	}
	typ := "Bearer"
	if jkt != "" {
		typ = "DPoP"
	}
	respond.JSON(w, http.StatusOK, tokenBody{AccessToken: tok, TokenType: typ, ExpiresIn: max(1, int64(exp.Sub(h.now())/time.Second))})
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
	asDPoP := strings.EqualFold(scheme, "DPoP")
	if !(asDPoP || strings.EqualFold(scheme, "Bearer")) || len(r.Header.Values("Authorization")) != 1 {
		raw = ""
	}
	raw = strings.TrimSpace(raw)
	jkt, reason := h.verify(r, s, raw, origin)
	if reason != "" {
		h.refuse(reason)
		challenge := `Bearer error="invalid_token"`
		if s.DPoP == DPoPRequired || asDPoP {
			challenge = `DPoP error="invalid_token", algs="` + dpop.Algs + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		respond.Error(w, http.StatusUnauthorized, "invalid_token", "a token minted by this worker for this origin is required; POST /token for one")
		return
	}
	if !h.checkBinding(w, r, s, raw, jkt, asDPoP) {
		return
	}
	src, err := h.source(s)
	if err != nil {
		writeMisconfigured(w, fromCoreError(err))
		return
	}
	p := &apiproxy.Proxy{Upstream: s.Mint.Upstream, Transport: h.Transport, Token: src.Token, Invalidate: src.Invalidate, Timeout: h.timeout(), Redact: scrubber(s.Token), DPoP: s.Token.DPoP,
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
// the thumbprint of the DPoP key the token is bound to ("" for a bearer
// token) and "" for a good token, else the refusal's reason
// (RefuseExpiredToken or RefuseInvalidToken).
func (h *Handler) verify(r *http.Request, s *Settings, token, origin string) (jkt, reason string) {
	m := h.minter(r, s)
	key := verifiedKey(m.Issuer, origin, token)
	if jkt, ok := h.verified.valid(key, h.now()); ok {
		return jkt, ""
	}
	claims, err := m.Verify(token, origin)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return "", RefuseExpiredToken
		}
		return "", RefuseInvalidToken
	}
	jkt = mint.JKT(claims)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		h.verified.add(key, exp.Time, jkt)
	}
	return jkt, ""
}

// Values of DPOP.
const (
	DPoPOff      = "off"      // tokens are bearer tokens; DPoP headers are ignored
	DPoPAllowed  = "allowed"  // a POST /token with a valid proof gets a bound token
	DPoPRequired = "required" // only bound tokens are minted and accepted
)

// RefuseDPoP is the refusal reason of a missing, invalid or replayed DPoP
// proof, and of a bearer request where DPOP=required.
const RefuseDPoP = "invalid_dpop_proof"

// parseDPoP reads DPOP.
func parseDPoP(v string) (string, error) {
	switch v {
	case "":
		return DPoPAllowed, nil
	case DPoPOff, DPoPAllowed, DPoPRequired:
		return v, nil
	}
	return "", &ConfigError{VarDPoP, `must be "off", "allowed" or "required"`}
}

// proofs checks the DPoP proofs of every route of this isolate and
// remembers their jti for their window. Across isolates nothing is shared:
// a proof replayed to another isolate within its window (2 minutes) is
// not seen as a replay there, but it still only repeats the very request
// it was made for (method, URL, token).
var proofs dpop.Checker

// checkProof checks the request's one DPoP header for this request's
// method and URL, and token ("" at /token, where no ath is due).
func (h *Handler) checkProof(r *http.Request, token string) (*dpop.Proof, error) {
	v := r.Header.Values("DPoP")
	if len(v) != 1 {
		return nil, fmt.Errorf("%w: exactly one DPoP header is required", dpop.ErrInvalidProof)
	}
	return proofs.CheckAt(h.now(), v[0], r.Method, requestURL(r, h.Base), token)
}

// requestURL is the URL the client called, which a proof's htu names:
// the worker's origin, the route's base and the path (no query).
func requestURL(r *http.Request, base string) string {
	return issuer(r) + base + r.URL.EscapedPath()
}

// checkBinding enforces the token's DPoP binding at /api/ (RFC 9449 7):
// a bound token needs "Authorization: DPoP" and a proof by its key for
// this request; a bearer token may not pose as DPoP, nor pass where
// DPOP=required. It answers the refusal itself and reports whether the
// call may go on.
func (h *Handler) checkBinding(w http.ResponseWriter, r *http.Request, s *Settings, token, jkt string, asDPoP bool) bool {
	switch {
	case jkt != "":
		if !asDPoP {
			h.refuseProof(w, errors.New("a DPoP-bound token is sent as Authorization: DPoP with a proof"), http.StatusUnauthorized, "invalid_token")
			return false
		}
		p, err := h.checkProof(r, token)
		if err == nil && p.JKT != jkt {
			err = errors.New("the proof is signed by another key than the token's")
		}
		if err != nil {
			h.refuseProof(w, err, http.StatusUnauthorized, "")
			return false
		}
	case asDPoP:
		h.refuseProof(w, errors.New("this token is not DPoP-bound"), http.StatusUnauthorized, "invalid_token")
		return false
	case s.DPoP == DPoPRequired:
		h.refuseProof(w, errors.New("this route only accepts DPoP-bound tokens; POST /token with a DPoP proof"), http.StatusUnauthorized, "invalid_token")
		return false
	}
	return true
}

// refuseProof answers a DPoP refusal: 400 invalid_dpop_proof at /token
// (RFC 9449 5), 401 with a DPoP challenge at /api/ (RFC 9449 7.1), 503
// when the replay memory is full. code "" is invalid_dpop_proof. The
// description says what was wrong with the proof, never its content.
func (h *Handler) refuseProof(w http.ResponseWriter, err error, status int, code string) {
	if errors.Is(err, dpop.ErrBusy) {
		w.Header().Set("Retry-After", "10")
		respond.Error(w, http.StatusServiceUnavailable, "temporarily_unavailable", "too many recent DPoP proofs; retry later")
		return
	}
	h.refuse(RefuseDPoP)
	if code == "" {
		code = "invalid_dpop_proof"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", algs="`+dpop.Algs+`"`)
	}
	respond.Error(w, status, code, strings.TrimPrefix(err.Error(), "dpop: "))
}
