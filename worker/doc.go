// Package worker is the server half of tokenhelper: an ordinary
// http.Handler that holds the client secret (and, for the password grant,
// the password) and hands browsers from allowed origins short-lived access
// tokens. The cmd/worker program serves it in a Cloudflare Worker with
// github.com/syumai/workers; the package itself is plain Go, tested
// natively with httptest.
//
// The HTTP contract (pass mode):
//
//	POST /token      from an origin in ALLOWED_ORIGINS: 200 {access_token,
//	                 token_type, expires_in} with the remaining lifetime
//	OPTIONS /token   CORS preflight, 204 for allowed origins
//	GET /healthz     200 without contacting the provider
//
// Other origins get 403 origin_not_allowed; upstream failures 502, 503 or
// 504 with an RFC 6749 style {"error", "error_description"} body; a missing
// or invalid setting 500 misconfigured naming the variable, never its
// value. See README.md for the settings and the threat model.
//
// In the Worker one long-lived Go instance serves every request of an
// isolate (worker/entry/worker.mjs), so a [Handler] keeps its settings and
// token Source between requests, with one provider request in flight at a
// time. Cloudflare runs many isolates, though, and restarts them at will:
// tokens and the caller JWKS are shared between them through a [Store]
// (the Workers Cache API or KV in the Worker, [MemoryStore] natively).
package worker
