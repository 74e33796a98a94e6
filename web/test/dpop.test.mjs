// dpop.test.mjs: { worker, dpop: true } under Node, against a small
// worker stand-in on 127.0.0.1 that checks each proof with WebCrypto: the
// POST to /token and every fetch carry a fresh proof by one key whose
// private half cannot be exported. (The worker's own checks run in Go
// tests and in workerd with Chromium: e2e/browser/dpop_*_test.go.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { load, unload } from "../../dist/tokenhelper.mjs";
import { dpopKey, dpopProof } from "../../dist/crypto.mjs";

let server;
let base;
const seen = []; // { path, method, auth, proof }

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ path: req.url, method: req.method, auth: req.headers.authorization, proof: req.headers.dpop });
      res.setHeader("Content-Type", "application/json");
      if (req.url.startsWith("/nonce/")) return nonced(req, res);
      if (req.url === "/token") {
        const type = req.headers.dpop ? "DPoP" : "Bearer";
        return res.end(JSON.stringify({ access_token: `tok-${seen.length}`, token_type: type, expires_in: 300 }));
      }
      res.end("{}");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await unload();
  server.close();
});

const b64 = (s) => Buffer.from(s, "base64url");

// nonced is a custom provider (/nonce/token) and an API (/nonce/api/…)
// that want their own nonce in each proof (RFC 9449 8, 9): the provider
// answers use_dpop_nonce (400), the API a 401 with WWW-Authenticate, each
// with its DPoP-Nonce, until a proof carries it.
function nonced(req, res) {
  const claims = req.headers.dpop ? JSON.parse(b64(req.headers.dpop.split(".")[1])) : {};
  const want = req.url === "/nonce/token" ? "n-token" : "n-api";
  if (claims.nonce !== want) {
    res.setHeader("DPoP-Nonce", want);
    if (want === "n-api") {
      res.setHeader("WWW-Authenticate", 'DPoP algs="ES256", error="use_dpop_nonce"');
      res.statusCode = 401;
      return res.end();
    }
    res.statusCode = 400;
    return res.end(JSON.stringify({ error: "use_dpop_nonce" }));
  }
  if (want === "n-token") return res.end(JSON.stringify({ access_token: "bound-tok", token_type: "DPoP", expires_in: 300 }));
  res.end(JSON.stringify({ ok: req.headers.authorization === "DPoP bound-tok" }));
}

// check verifies a proof's signature with its own jwk and returns its parts.
async function check(proof) {
  const [h, p, s] = proof.split(".");
  const header = JSON.parse(b64(h));
  const claims = JSON.parse(b64(p));
  const key = await crypto.subtle.importKey("jwk", header.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64(s), new TextEncoder().encode(`${h}.${p}`));
  assert.ok(ok, "the proof's signature verifies with its jwk");
  return { header, claims };
}

const ath = async (t) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t))).toString("base64url");

test("dpopProof: typ, ES256, a public jwk, htm, htu without query, iat, jti, ath", async () => {
  const { header, claims } = await check(await dpopProof("GET", "https://w.example/api/x?q=1#f", "the-token"));
  assert.equal(header.typ, "dpop+jwt");
  assert.equal(header.alg, "ES256");
  assert.deepEqual(Object.keys(header.jwk).sort(), ["crv", "kty", "x", "y"], "no private member");
  assert.equal(claims.htm, "GET");
  assert.equal(claims.htu, "https://w.example/api/x");
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5);
  assert.equal(claims.ath, await ath("the-token"));
  const again = await check(await dpopProof("POST", "https://w.example/token"));
  assert.notEqual(again.claims.jti, claims.jti, "a fresh jti each time");
  assert.equal(again.claims.ath, undefined);
  assert.deepEqual(again.header.jwk, header.jwk, "one key");
  const { privateKey } = await dpopKey();
  assert.equal(privateKey.extractable, false);
  await assert.rejects(crypto.subtle.exportKey("jwk", privateKey), "the private key cannot be exported");
});

test("createTokenSource { worker, dpop: true }: proofs with the POST and each fetch", async () => {
  const th = await load();
  const src = th.createTokenSource({ worker: `${base}/token`, dpop: true });
  const tok = await src.getToken();
  assert.equal(tok.token_type, "DPoP");
  const post = seen.at(-1);
  assert.equal(post.path, "/token");
  const { claims } = await check(post.proof);
  assert.equal(claims.htm, "POST");
  assert.equal(claims.htu, `${base}/token`);
  for (let i = 0; i < 2; i++) {
    const res = await src.fetch("/api/items?id=1", { method: "PUT" });
    assert.equal(res.status, 200);
    const call = seen.at(-1);
    assert.equal(call.auth, `DPoP ${tok.access_token}`);
    const p = await check(call.proof);
    assert.equal(p.claims.htm, "PUT");
    assert.equal(p.claims.htu, `${base}/api/items`);
    assert.equal(p.claims.ath, await ath(tok.access_token));
  }
  // th.dpopProof: the same key, for a token attached by hand.
  const own = await check(await th.dpopProof("GET", `${base}/api/x`, tok.access_token));
  assert.deepEqual(own.header.jwk, (await check(post.proof)).header.jwk);
  assert.equal(own.claims.ath, await ath(tok.access_token));
  // Without dpop, no proof and a bearer token.
  const plain = th.createTokenSource({ worker: `${base}/token`, shareAcrossTabs: false });
  assert.equal((await plain.getToken()).token_type, "Bearer");
  assert.equal(seen.at(-1).proof, undefined);
  assert.throws(() => th.createTokenSource({ provider: "aluma", clientId: "c", clientSecret: "s", dpop: true }), /custom providers only/);
  assert.throws(() => th.createTokenSource({ worker: `${base}/token`, dpop: "yes" }), /must be a boolean/);
});

test("a custom provider with { tokenURL, dpop: true }: the nonce retries at the token endpoint and the API", async () => {
  const th = await load();
  const from = seen.length;
  const src = th.createTokenSource({ tokenURL: `${base}/nonce/token`, clientId: "c", clientSecret: "s", dpop: true, shareAcrossTabs: false });
  const tok = await src.getToken();
  assert.equal(tok.token_type, "DPoP");
  const posts = seen.slice(from);
  assert.deepEqual(posts.map((r) => r.path), ["/nonce/token", "/nonce/token"], "one use_dpop_nonce retry");
  assert.equal((await check(posts[0].proof)).claims.nonce, undefined);
  const { claims } = await check(posts[1].proof);
  assert.equal(claims.nonce, "n-token");
  assert.equal(claims.htu, `${base}/nonce/token`);
  for (const q of ["a=1", "b=2"]) {
    const res = await src.fetch(`${base}/nonce/api/items?${q}#f`, { method: "POST", body: "{}" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  }
  const calls = seen.slice(from + 2);
  assert.deepEqual(calls.map((r) => r.path), ["/nonce/api/items?a=1", "/nonce/api/items?a=1", "/nonce/api/items?b=2"],
    "the API's use_dpop_nonce answered once, its nonce kept for the next call");
  for (const [i, c] of calls.entries()) {
    const p = await check(c.proof);
    assert.equal(c.auth, "DPoP bound-tok");
    assert.equal(p.claims.htm, "POST");
    assert.equal(p.claims.htu, `${base}/nonce/api/items`);
    assert.equal(p.claims.ath, await ath("bound-tok"));
    assert.equal(p.claims.nonce, i === 0 ? undefined : "n-api");
  }
  src.close();
});
