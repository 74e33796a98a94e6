// Package tokenhelper obtains OAuth2 access tokens from token endpoints that
// each speak their own dialect, and keeps them until shortly before they
// expire.
//
// It implements the token endpoint side of RFC 6749: the client credentials
// grant (section 4.4), the resource owner password credentials grant (4.3),
// refreshing an access token (6), successful and error responses (5.1, 5.2)
// and client authentication in the body or with HTTP Basic (2.3.1). JWTs
// (RFC 7519) are decoded here without verification; package verify checks
// signatures with github.com/golang-jwt/jwt/v5.
//
// The package is pure Go with no syscall/js and no net/http: the wire is
// reached through a [Transport], so the same core runs natively (see the
// nethttp package), in the browser (the browser's fetch) and in a Cloudflare
// Worker (the Workers fetch). Time comes from an injected [Clock].
//
// The layers are:
//
//   - [Config] and the built-in [Provider] profiles say what to send;
//   - [BuildRequest], the one request builder, turns a Config into the exact
//     [Request] (multipart/form-data, urlencoded or JSON);
//   - [ParseResponse] turns what came back into a [Token] or an [*Error];
//   - [Client] sends one request with retries, [Source] caches tokens in a
//     [Cache] with single flight and refresh;
//   - [Inspect] and [DecodeSegmentJSON] decode JWTs without verifying them
//     (the latter with the jwt-decode npm package's semantics).
package tokenhelper
