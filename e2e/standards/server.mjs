// server.mjs runs panva's oidc-provider (a certified OpenID Provider, not
// ours) on loopback for the e2e tests: client_credentials for two
// confidential clients (credentials in the body, and HTTP Basic), and
// resource servers, named by RFC 8707 resource indicators, whose access
// tokens are JWTs with that resource as aud. Any other resource is
// invalid_target.
//
//   node server.mjs   (settings from the environment, see below)
//
// Environment: PORT (0: any free port), CLIENT_ID, CLIENT_SECRET,
// RESOURCE (the resources it knows, space-separated), CLIENT_JWKS
// (optional: the public keys of the private_key_jwt client, a JWKS),
// CORS_ORIGIN (optional: a page origin allowed to call the token
// endpoint from a browser; discovery and JWKS are open to any).
// Clients: CLIENT_ID (client_secret_post), CLIENT_ID-basic
// (client_secret_basic), CLIENT_ID-csjwt (client_secret_jwt),
// CLIENT_ID-dpop (client_secret_post, dpop_bound_access_tokens: its
// token requests need a DPoP proof, RFC 9449, carrying the server's
// nonce: the first answer is use_dpop_nonce), and with
// CLIENT_JWKS CLIENT_ID-pkjwt (private_key_jwt). It prints one line, "listening <issuer URL>", when it is
// ready, and nothing secret. On stderr it warns that it wants Node 22 LTS
// and an adapter other than memory: both harmless here (Node 20.20 runs it).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider, { errors } from "oidc-provider";

const { CLIENT_ID, CLIENT_SECRET, RESOURCE, CLIENT_JWKS } = process.env;
const known = new Set((RESOURCE || "").split(" ").filter(Boolean));
if (!CLIENT_ID || !CLIENT_SECRET || !RESOURCE) {
  console.error("server.mjs: CLIENT_ID, CLIENT_SECRET and RESOURCE are required");
  process.exit(2);
}

// A signing key of this run: no development key from the package.
const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });

function start(issuer) {
  const client = (id, method) => ({
    client_id: id,
    client_secret: CLIENT_SECRET,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: method,
    id_token_signed_response_alg: "ES256", // the one key's algorithm
    scope: "api:read",
  });
  return new Provider(issuer, {
    clients: [
      client(CLIENT_ID, "client_secret_post"),
      client(CLIENT_ID + "-basic", "client_secret_basic"),
      client(CLIENT_ID + "-csjwt", "client_secret_jwt"),
      { ...client(CLIENT_ID + "-dpop", "client_secret_post"), dpop_bound_access_tokens: true },
      ...(CLIENT_JWKS
        ? [{ ...client(CLIENT_ID + "-pkjwt", "private_key_jwt"), client_secret: undefined, jwks: JSON.parse(CLIENT_JWKS) }]
        : []),
    ],
    scopes: ["openid", "api:read"],
    ...(process.env.CORS_ORIGIN ? { clientBasedCORS: (ctx, origin) => origin === process.env.CORS_ORIGIN } : {}),
    jwks: { keys: [{ ...jwk, kid: "e2e", use: "sig", alg: "ES256" }] },
    features: {
      clientCredentials: { enabled: true },
      // DPoP with server nonces, required of every proof (RFC 9449 8).
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        getResourceServerInfo(ctx, resourceIndicator) {
          if (!known.has(resourceIndicator)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: "api:read",
            audience: resourceIndicator,
            accessTokenTTL: 300,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "ES256" } },
          };
        },
      },
    },
  });
}

// The issuer names the port, which is known once listening: listen on a
// plain server first, then hand its requests to the provider.
import { createServer } from "node:http";
const server = createServer();
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = start(issuer);
  server.on("request", provider.callback());
  console.log(`listening ${issuer}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
