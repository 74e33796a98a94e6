// proxy.mjs: the plain JavaScript peer of the worker's /api/ in mode mint,
// for bench/cmd/mintbench: it does the same job with the platform's own
// means (verify the minted EdDSA token with WebCrypto, forward with the
// provider token, stream the answer back) and nothing else, so that the
// difference in time is what Go and our plan add.
//
// Vars: ORIGIN (the one allowed origin), ISSUER (the minting worker's
// origin), JWK (its public key, JSON), UPSTREAM (the API base URL) and
// PROVIDER_AUTH (the provider token as an Authorization value, fetched by
// the bench; this peer obtains no token of its own).

let key; // the imported public key, once per isolate

function b64url(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

async function verified(token, env, origin) {
  const parts = token.split(".");
  if (parts.length !== 3) return false;
  key ??= await crypto.subtle.importKey("jwk", JSON.parse(env.JWK), { name: "Ed25519" }, false, ["verify"]);
  const signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, b64url(parts[2]), signed))) return false;
  const c = JSON.parse(new TextDecoder().decode(b64url(parts[1])));
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  return c.iss === env.ISSUER && aud.includes(origin) && c.exp > Date.now() / 1000;
}

function refuse(status, error) {
  return new Response(JSON.stringify({ error }) + "\n", { status, headers: { "Content-Type": "application/json" } });
}

export default {
  async fetch(req, env) {
    const origin = req.headers.get("Origin");
    if (origin !== env.ORIGIN) return refuse(403, "origin_not_allowed");
    const auth = req.headers.get("Authorization") ?? "";
    if (!auth.startsWith("Bearer ") || !(await verified(auth.slice(7).trim(), env, origin))) return refuse(401, "invalid_token");
    const url = new URL(req.url);
    if (!url.pathname.startsWith("/api/")) return refuse(404, "not_found");
    const headers = new Headers({ Authorization: env.PROVIDER_AUTH });
    for (const h of ["accept", "content-type"]) if (req.headers.has(h)) headers.set(h, req.headers.get(h));
    const res = await fetch(env.UPSTREAM + url.pathname.slice(4) + url.search, {
      method: req.method, headers, body: req.body, redirect: "manual",
    });
    const out = new Headers(res.headers);
    out.delete("set-cookie");
    out.set("Access-Control-Allow-Origin", origin);
    out.set("Vary", "Origin");
    return new Response(res.body, { status: res.status, headers: out });
  },
};
