// Package demoapi is a loopback API for tests and `./build.sh dev`: it
// accepts only a bearer token that verifies against the demo provider's
// keys, and echoes back what it received, so a test can see exactly what a
// proxy forwarded. A token bound to a DPoP key (cnf.jkt, RFC 9449) is
// accepted only as "Authorization: DPoP" with a proof by that key for
// the request (and the API's nonce, see SetDPoPNonce).
package demoapi

import (
	"encoding/json"
	"github.com/tokenhelper/tokenhelper/dpop"
	"github.com/tokenhelper/tokenhelper/verify"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
)

// API is the demo API, an http.Handler.
type API struct {
	// Keys verify the bearer token (the demo provider's JWKS).
	Keys   verify.KeySet
	proofs dpop.Checker

	mu       sync.Mutex
	nonce    string // see SetDPoPNonce
	reject   int
	received []Echo
}

// Echo is what the API received. The answer carries it too, with the
// Authorization value redacted.
type Echo struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Subject string              `json:"sub"`
}

// RejectNext makes the next n calls answer 401 even with a valid token.
func (a *API) RejectNext(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reject = n
}

// Received returns every call that carried a valid token.
func (a *API) Received() []Echo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Echo(nil), a.received...)
}

// ServeHTTP verifies the token and echoes the request. A path ending in
// /redirect answers a redirect to another host, one ending in /cookie also
// sets a cookie and a CORS header (which a proxy must not pass on).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	claims, err := verify.JWT(tok, a.Keys, verify.Options{})
	ok := scheme == "Bearer"
	if cnf, _ := claims["cnf"].(map[string]any); err == nil && cnf != nil {
		if challenge := a.checkDPoP(r, scheme, tok, cnf); challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
			if strings.Contains(challenge, "use_dpop_nonce") {
				w.Header().Set("DPoP-Nonce", a.dpopNonce())
			}
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_token"}`)
			return
		}
		ok = true
	}
	a.mu.Lock()
	rejected := a.reject > 0
	if rejected && ok && err == nil {
		a.reject--
	}
	a.mu.Unlock()
	if !ok || err != nil || rejected {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_token"}`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	sub, _ := claims.GetSubject()
	e := Echo{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: r.Header.Clone(), Body: string(body), Subject: sub}
	e.Headers["Host"] = []string{r.Host}
	a.mu.Lock()
	a.received = append(a.received, e)
	a.mu.Unlock()
	// The answer shows that a token came, never the token: a caller of a
	// proxy must not learn the provider's token from the echo.
	e.Headers = r.Header.Clone()
	e.Headers["Authorization"] = []string{"Bearer <redacted>"}
	switch path.Base(r.URL.Path) {
	case "redirect":
		http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusTemporaryRedirect)
		return
	case "cookie":
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "upstream"})
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	json.NewEncoder(w).Encode(e)
}

// checkDPoP checks the proof of a call with a DPoP-bound token, returning
// the WWW-Authenticate challenge of a refusal, or "" when it is good.
func (a *API) checkDPoP(r *http.Request, scheme, tok string, cnf map[string]any) string {
	if scheme != "DPoP" {
		return `DPoP error="invalid_token", error_description="a DPoP-bound token needs Authorization: DPoP and a proof"`
	}
	p, err := a.proofs.Check(r.Header.Get("DPoP"), r.Method, "http://"+r.Host+r.URL.Path, tok)
	if err != nil || p.JKT != cnf["jkt"] {
		return `DPoP error="invalid_dpop_proof"`
	}
	if n := a.dpopNonce(); n != "" && p.Nonce != n {
		return `DPoP error="use_dpop_nonce"`
	}
	return ""
}

// SetDPoPNonce makes n the nonce every DPoP proof must carry (RFC 9449
// 9; "" for none): a proof without it is answered 401 use_dpop_nonce
// with a DPoP-Nonce header.
func (a *API) SetDPoPNonce(n string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nonce = n
}

func (a *API) dpopNonce() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nonce
}
