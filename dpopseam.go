package tokenhelper

// DPoPProver makes DPoP proofs (RFC 9449) with a key the caller holds:
// the seam through which this package, which holds no crypto, binds the
// tokens of a Worker to that key. Package
// github.com/tokenhelper/tokenhelper/dpop implements it (dpop.Prover).
type DPoPProver interface {
	// Proof returns a fresh proof for one request: its method, its URL
	// and the access token it carries ("" for a token request).
	Proof(method, url, accessToken string) (string, error)
	// Thumbprint is the key's RFC 7638 thumbprint: the cnf.jkt of the
	// tokens bound to it, and part of their cache key.
	Thumbprint() string
}
