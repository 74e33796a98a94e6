package apiproxy

import (
	"context"
	"errors"

	"github.com/tokenhelper/tokenhelper"
)

// NonceHeader, on a request the entry module sends again after an
// upstream 401 (beside RefusedHeader), carries that 401's DPoP-Nonce
// when its WWW-Authenticate is DPoP error="use_dpop_nonce" (RFC 9449 9):
// the new plan keeps the token and its proof carries the nonce.
// The entry module strips it from browser requests like RefusedHeader;
// a browser that sent one anyway could only make the proof carry a
// nonce the upstream refuses.
const NonceHeader = "Tokenhelper-Dpop-Nonce"

// errNoProof: the provider token is DPoP-bound and the proof could not
// be made (no key, or the key failed): the call is not sent.
var errNoProof = errors.New("the provider token is DPoP-bound and no proof could be made for it")

// authorize sets h's Authorization to tok and, for a DPoP-bound token
// (token_type DPoP, RFC 9449 7.1), its DPoP header to a fresh proof by
// p.DPoP for this method and target (htm, htu without query, ath, and
// the upstream's last nonce): the one place where the upstream call's
// credentials are written, for ServeHTTP and ServePlan alike.
func (p *Proxy) authorize(ctx context.Context, h map[string]string, method, target string, tok *tokenhelper.Token) error {
	h["Authorization"] = tok.AuthorizationHeader()
	delete(h, "Dpop")
	if tok.Type() != "DPoP" {
		return nil
	}
	if p.DPoP == nil {
		return errNoProof
	}
	proof, err := tokenhelper.DPoPProof(ctx, p.DPoP, method, target, tok.AccessToken)
	if err != nil {
		return errNoProof
	}
	h["Dpop"] = proof
	return nil
}

// nonceAsked reports whether an upstream 401 to target, sent with the
// bound token tok and proof, asks for a proof with a nonce that one did
// not carry (WWW-Authenticate: DPoP error="use_dpop_nonce" and a new
// DPoP-Nonce, RFC 9449 9), remembering it: then the call is sent again
// with the same token, not counted as a refusal of the token.
func (p *Proxy) nonceAsked(target string, tok *tokenhelper.Token, proof string, challenges []string, nonce string) bool {
	if p.DPoP == nil || tok.Type() != "DPoP" || !tokenhelper.DPoPNonceChallenge(challenges...) {
		return false
	}
	return tokenhelper.NoteDPoPNonce(target, proof, nonce, true)
}
