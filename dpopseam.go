package tokenhelper

import "context"

// DPoPProver makes DPoP proofs (RFC 9449) with a key the caller holds:
// the seam through which this package, which holds no crypto, binds the
// tokens of a Worker to that key. Package
// github.com/tokenhelper/tokenhelper/dpop implements it (dpop.Prover).
type DPoPProver interface {
	// DPoPProof returns a fresh proof for one request: its method, its
	// URL and the access token it carries ("" for a token request). In
	// the browser the proof is made by WebCrypto, asynchronously: hence
	// the context.
	DPoPProof(ctx context.Context, method, url, accessToken string) (string, error)
	// Thumbprint names the key in the tokens' cache key (the RFC 7638
	// thumbprint, which a bound token carries as cnf.jkt), so that
	// another key never gets them.
	Thumbprint() string
}
