// Package dpop makes and checks DPoP proofs (RFC 9449, OAuth 2.0
// Demonstrating Proof of Possession): a JWT signed with the client's own
// key that binds one HTTP request (method and URL) and, when a token is
// used, that token (ath) to the key, whose RFC 7638 thumbprint a bound
// token carries as cnf.jkt.
//
// A [Prover] holds a client's P-256 or Ed25519 key and signs proofs; the
// Go callers of a tokenhelper Worker use it. A [Checker] verifies proofs
// on the Worker's side: typ dpop+jwt, ES256 or EdDSA only, a public
// embedded jwk, htm, htu (without query and fragment, RFC 9449 4.3), iat
// within a window, a jti not seen within it (in this process only) and
// ath.
//
// This package is crypto; the root package tokenhelper and the browser's
// wasm must not import it (the browser module makes its proofs with
// WebCrypto instead).
package dpop
