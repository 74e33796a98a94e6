package demoprovider

import "net/http"

// checkDPoP binds the custom profile's tokens to the key of a DPoP proof
// (RFC 9449 5), as standard servers do: a request with a DPoP header
// gets a token_type DPoP token whose cnf.jkt is the key's thumbprint,
// when the proof is good for this endpoint (htm POST, htu this URL, iat
// fresh, jti new) and carries Options.DPoPNonce when one is set (else
// use_dpop_nonce with a DPoP-Nonce header). Other profiles, like the
// providers they mimic, ignore the header.
func (s *Server) checkDPoP(req *tokenRequest, g *grantInfo) *oauthError {
	proof := req.r.Header.Get("DPoP")
	if proof == "" || req.p.family != familyCustom {
		return nil
	}
	p, err := s.proofs.CheckAt(s.now(), proof, req.r.Method, "http://"+req.r.Host+req.r.URL.Path, "")
	if err != nil {
		return &oauthError{http.StatusBadRequest, "invalid_dpop_proof", "the DPoP proof is not valid for this request"}
	}
	if n := s.opts.DPoPNonce; n != "" && p.Nonce != n {
		return &oauthError{http.StatusBadRequest, "use_dpop_nonce", "the DPoP proof must carry the server's nonce"} // handleToken adds DPoP-Nonce
	}
	g.jkt = p.JKT
	return nil
}
