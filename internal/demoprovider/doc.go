// Package demoprovider is a loopback OAuth2 token server that mimics the
// token endpoints of every provider profile tokenhelper supports. Tests and
// `./build.sh dev` use it in place of the real providers.
//
// It is a strict mock: each profile enforces its provider's documented
// request format (multipart/form-data for Alphaus, urlencoded for Aluma,
// Auth0-style JSON with a required audience for Alluvial, any of the three
// for the custom profile, which also takes RFC 8707 resource indicators,
// repeated or as a JSON array) and answers anything else with an RFC 6749
// 5.2 error. It never just says yes.
//
// # Endpoints
//
//   - POST Path(profile) for each profile in Profiles(): the token endpoint.
//   - GET /.well-known/jwks.json: the Ed25519 public key (OKP) that signs
//     every access_token and id_token, generated when New is called.
//   - GET /healthz: 200 "ok".
//   - GET /_demo/stats, POST /_demo/reset, POST /_demo/fault: the control
//     endpoints, for tests that drive a separate process or run in JS.
//
// Every response carries Access-Control-Allow-Origin: * (the server uses no
// cookies, so a wildcard exposes nothing a page could not already send), and
// OPTIONS preflights on known paths are answered with 204.
//
// # Tokens
//
// access_token and id_token are EdDSA JWTs whose header carries the key's
// RFC 7638 thumbprint as kid. Claims: iss (always the constant Issuer), sub
// (the client id, or the username for the password grant), aud (the custom
// profile's resource indicators, one as a string, several as an array; else
// the Alluvial or custom audience, else the profile id; for an id_token the
// client id, as OpenID Connect requires), iat, exp (iat + lifetime, equal to
// expires_in), jti, scope (when there is one), client_id, and provider (the
// profile id). An id_token also carries name. Refresh tokens are random
// opaque strings, single use, kept in memory and bound to the profile and
// client that obtained them.
//
// # Secrets
//
// Error bodies never echo what the client sent, and the request log
// (Requests, /_demo/stats) replaces client_secret, password and
// refresh_token values with "<redacted:ok>" or "<redacted:wrong>", and any
// other value containing the configured secret or password with
// "<redacted>".
package demoprovider
