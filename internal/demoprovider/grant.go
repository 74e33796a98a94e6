package demoprovider

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// tokenResponse is the JSON body of a successful token request.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
}

// outcome is what the request log records about an answer.
type outcome struct {
	status int    // 0 when nothing was answered
	err    string // the error code, if any
	fault  string // the injected fault kind, if any
}

// tokenRequest is a parsed request to a token endpoint.
type tokenRequest struct {
	r         *http.Request
	p         *profile
	mediaOK   bool // Content-Type parsed
	mediaType string
	params    *params
	parseErr  *oauthError
}

// serveToken handles a non-OPTIONS request to a token endpoint, logging it.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, p *profile) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	entry := s.begin(Received{
		Profile:     p.id,
		Method:      s.scrub(r.Method),
		Path:        r.URL.Path,
		ContentType: s.scrub(loggedMediaType(r.Header.Get("Content-Type"))),
		BasicAuth:   isBasic(r.Header.Get("Authorization")),
		Fields:      map[string]string{},
	})
	s.finish(entry, s.handleToken(w, r, p, entry))
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, p *profile, entry *Received) outcome {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return outcome{status: http.StatusMethodNotAllowed, err: "invalid_request"}
	}
	body, oe := readBody(w, r)
	if oe != nil {
		return answerError(w, oe)
	}
	mt, mtParams, mediaOK := mediaType(r.Header.Get("Content-Type"))
	ps, parseErr := parseParams(mt, mtParams, body)
	s.setFields(entry, s.redact(p, ps))

	fault := ""
	if f, ok := s.takeFault(); ok {
		if f.Kind != FaultSlow {
			return s.serveFault(w, p, f)
		}
		if !sleep(r.Context(), f.Delay) {
			return outcome{err: "client_gone", fault: FaultSlow}
		}
		fault = FaultSlow
	}

	req := &tokenRequest{r: r, p: p, mediaOK: mediaOK, mediaType: mt, params: ps, parseErr: parseErr}
	resp, oe := s.grant(req)
	out := outcome{fault: fault}
	if oe != nil {
		if oe.code == "use_dpop_nonce" {
			w.Header().Set("DPoP-Nonce", s.opts.DPoPNonce)
		}
		out = answerError(w, oe)
		out.fault = fault
		return out
	}
	writeJSON(w, http.StatusOK, resp)
	out.status = http.StatusOK
	return out
}

func answerError(w http.ResponseWriter, e *oauthError) outcome {
	e.write(w)
	return outcome{status: e.status, err: e.code}
}

// grant validates a token request in the profile's dialect and issues the
// tokens. The checks run in the order a client needs to fix them.
func (s *Server) grant(req *tokenRequest) (*tokenResponse, *oauthError) {
	p, ps := req.p, req.params
	if req.r.URL.RawQuery != "" {
		return nil, invalidRequest("token request parameters belong in the request body, not in the URL query")
	}
	if !req.mediaOK || !p.acceptsMedia(req.mediaType) {
		return nil, invalidRequest(p.id + " token requests must have Content-Type " + p.mediaDescription())
	}
	if req.parseErr != nil {
		return nil, req.parseErr
	}

	grantType, oe := ps.get("grant_type")
	if oe != nil {
		return nil, oe
	}
	if grantType == "" {
		return nil, invalidRequest("missing grant_type")
	}
	if !p.supportsGrant(grantType) {
		return nil, unsupportedGrant(p.id + " supports grant_type " + strings.Join(p.grants, ", "))
	}

	clientID, oe := s.authenticateClient(req)
	if oe != nil {
		return nil, oe
	}
	g := grantInfo{profile: p, clientID: clientID, subject: clientID, audience: p.id}
	if oe := s.dialect(req, grantType, &g); oe != nil {
		return nil, oe
	}
	if oe := s.checkDPoP(req, &g); oe != nil {
		return nil, oe
	}

	var oldRefresh string
	switch grantType {
	case grantPassword:
		if oe := s.checkUser(ps, &g); oe != nil {
			return nil, oe
		}
	case grantRefreshToken:
		if oldRefresh, oe = s.checkRefresh(ps, &g); oe != nil {
			return nil, oe
		}
	}
	return s.issue(g, oldRefresh)
}

// dialect applies the profile family's own rules on scope and audience.
func (s *Server) dialect(req *tokenRequest, grantType string, g *grantInfo) *oauthError {
	ps := req.params
	switch req.p.family {
	case familyAlphaus:
		scope, oe := ps.get("scope")
		if oe != nil {
			return oe
		}
		// RFC 6749 6 lets a refresh request omit the scope.
		if scope != "openid" && (grantType != grantRefreshToken || scope != "") {
			return invalidScope("scope must be openid")
		}
		g.scope = "openid"
	case familyAlluvial:
		aud, oe := ps.get("audience")
		if oe != nil {
			return oe
		}
		if aud == "" {
			return accessDenied("No audience parameter was provided, and no default audience has been configured")
		}
		if aud != req.p.audience && !slices.Contains(s.opts.Audiences, aud) {
			return accessDenied("Service not found: the audience is not an API of this tenant (expected " + req.p.audience + ")")
		}
		g.audience, g.scope = aud, alluvialScope
	case familyCustom:
		scope, oe := ps.get("scope")
		if oe != nil {
			return oe
		}
		aud, oe := ps.get("audience")
		if oe != nil {
			return oe
		}
		g.scope = scope
		if aud != "" {
			g.audience = aud
		}
		for _, r := range ps.resources {
			if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
				return invalidTarget("resource must be an absolute URI without a fragment (RFC 8707 2)")
			}
		}
		g.resources = ps.resources
	}
	return nil
}

func (s *Server) checkUser(ps *params, g *grantInfo) *oauthError {
	user, oe := ps.get("username")
	if oe != nil {
		return oe
	}
	pass, oe := ps.get("password")
	if oe != nil {
		return oe
	}
	if user == "" || pass == "" {
		return invalidRequest("the password grant requires username and password")
	}
	// Evaluate both comparisons so timing does not tell which one failed.
	userOK, passOK := equal(user, s.opts.Username), equal(pass, s.opts.Password)
	if !userOK || !passOK {
		return invalidGrant("invalid username or password")
	}
	g.subject = user
	return nil
}

// checkRefresh validates a refresh_token grant and returns the token to
// consume once everything else passed.
func (s *Server) checkRefresh(ps *params, g *grantInfo) (string, *oauthError) {
	token, oe := ps.get("refresh_token")
	if oe != nil {
		return "", oe
	}
	if token == "" {
		return "", invalidRequest("missing refresh_token")
	}
	old, ok := s.refresh.lookup(token, g.profile)
	if !ok || old.clientID != g.clientID {
		return "", invalidGrant("refresh token is invalid, already used, or was issued to another client")
	}
	requested := g.scope
	g.subject, g.audience, g.scope, g.resources = old.subject, old.audience, old.scope, old.resources
	if g.profile.family == familyCustom && requested != "" {
		if !scopeSubset(requested, old.scope) {
			return "", invalidScope("requested scope exceeds the scope originally granted")
		}
		g.scope = requested
	}
	return token, nil
}

// issue signs the tokens for g, rotating oldRefresh when set.
func (s *Server) issue(g grantInfo, oldRefresh string) (*tokenResponse, *oauthError) {
	if oldRefresh != "" && !s.refresh.consume(oldRefresh) {
		return nil, invalidGrant("refresh token is invalid, already used, or was issued to another client")
	}
	withID := g.profile.family == familyAlphaus ||
		(g.profile.family == familyCustom && slices.Contains(strings.Fields(g.scope), "openid"))
	access, id, expiresIn, err := s.mint(g, withID)
	if err != nil {
		return nil, serverError("could not sign the token")
	}
	resp := &tokenResponse{
		AccessToken: access,
		IDToken:     id,
		TokenType:   g.profile.tokenType,
		ExpiresIn:   expiresIn,
	}
	if g.jkt != "" {
		resp.TokenType = "DPoP"
	}
	if g.profile.refresh {
		resp.RefreshToken = s.refresh.issue(g)
	}
	if g.profile.family == familyAlluvial || g.profile.family == familyCustom {
		resp.Scope = g.scope
	}
	return resp, nil
}

// scopeSubset reports whether every scope token of want is in have.
func scopeSubset(want, have string) bool {
	granted := strings.Fields(have)
	for _, sc := range strings.Fields(want) {
		if !slices.Contains(granted, sc) {
			return false
		}
	}
	return true
}
