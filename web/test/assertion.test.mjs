// assertion.test.mjs: client assertions (private_key_jwt with RSA, EC and
// Ed25519 PKCS #8 keys, client_secret_jwt) signed with WebCrypto by the
// module, over claims made by the Go core; checked with node:crypto
// against the public halves, and for what they say (RFC 7523 3). The
// private key and the secret are searched for in what the module gives
// back and throws: never there.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, createHmac, verify } from "node:crypto";
import { load, unload } from "../../dist/tokenhelper.mjs";
import { assertionSigner } from "../../dist/crypto.mjs";

after(() => unload());

const pkcs8 = (k) => k.export({ type: "pkcs8", format: "pem" });
const keys = {
  RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
  ES384: generateKeyPairSync("ec", { namedCurve: "P-384" }),
  EdDSA: generateKeyPairSync("ed25519"),
};
const SECRET = "client-secret-jwt-of-32-bytes-or-more!";
const tokenURL = "https://as.example/token";
const b64json = (s) => JSON.parse(Buffer.from(s, "base64url").toString());

// check verifies a compact JWS with node:crypto and returns its parts.
function check(jws, alg, publicKey) {
  const [h, c, s] = jws.split(".");
  const header = b64json(h);
  assert.equal(header.alg, alg);
  const input = Buffer.from(`${h}.${c}`);
  const sig = Buffer.from(s, "base64url");
  let ok;
  if (alg === "HS256") ok = createHmac("sha256", SECRET).update(input).digest().equals(sig);
  else if (alg === "EdDSA") ok = verify(null, input, publicKey, sig);
  else if (alg === "RS256") ok = verify("sha256", input, publicKey, sig);
  else ok = verify(alg === "ES256" ? "sha256" : "sha384", input, { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
  assert.ok(ok, `${alg}: the signature does not verify`);
  return { header, claims: b64json(c) };
}

test("private_key_jwt: each key type signs what verifies with its public key", async () => {
  for (const [alg, pair] of Object.entries(keys)) {
    const s = assertionSigner({ authStyle: "private_key_jwt", clientAssertionKey: pkcs8(pair.privateKey), clientAssertionKid: "k1" });
    await s.ready;
    const { header, claims } = check(await s.sign('{"iss":"c","aud":"x"}'), alg, pair.publicKey);
    assert.deepEqual(header, { alg, kid: "k1", typ: "JWT" });
    assert.deepEqual(claims, { iss: "c", aud: "x" });
  }
});

test("client_secret_jwt: HS256 under the secret; a short secret refused", async () => {
  const s = assertionSigner({ authStyle: "client_secret_jwt", clientSecret: SECRET });
  check(await s.sign("{}"), "HS256");
  const short = assertionSigner({ authStyle: "client_secret_jwt", clientSecret: "short" });
  await assert.rejects(short.ready, (e) => e.code === "config" && e.field === "clientSecret" && !e.message.includes("short"));
});

test("keys refused, naming the option, never its value", async () => {
  const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
  const cases = {
    "RSA 1024": pkcs8(small),
    "PKCS #1": keys.RS256.privateKey.export({ type: "pkcs1", format: "pem" }),
    "not PEM": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
  };
  for (const [name, pem] of Object.entries(cases)) {
    const s = assertionSigner({ authStyle: "private_key_jwt", clientAssertionKey: pem });
    await assert.rejects(s.ready, (e) => {
      assert.equal(e.field, "clientAssertionKey", name);
      assert.ok(!e.message.includes(pem.slice(-30, -10)), `${name}: the message holds the key`);
      return true;
    });
  }
});

test("the module: the core's claims, signed; the preview masks the assertion", async () => {
  const th = await load();
  const pem = pkcs8(keys.ES256.privateKey);
  const opts = { tokenURL, clientId: "app", authStyle: "private_key_jwt", clientAssertionKey: pem, clientAssertionKid: "k1" };
  const a = await th.clientAssertion(opts);
  assert.deepEqual(a.header, { alg: "ES256", kid: "k1", typ: "JWT" });
  assert.equal(a.claims.iss, "app");
  assert.equal(a.claims.sub, "app");
  assert.equal(a.claims.aud, tokenURL); // no issuer known: the token endpoint
  assert.equal(a.claims.exp - a.claims.iat, 120);
  assert.match(a.claims.jti, /^[0-9a-f]{32}$/);
  const b = await th.clientAssertion({ ...opts, issuer: "https://as.example" });
  assert.equal(b.claims.aud, "https://as.example"); // the issuer when known
  assert.notEqual(b.claims.jti, a.claims.jti);

  const req = th.buildTokenRequest(opts);
  const field = req.fields.find((f) => f.name === "client_assertion");
  assert.ok(field?.secret, "client_assertion not marked secret");
  assert.ok(!req.redacted.body.includes(field.value.split(".")[1]), "the redacted body shows the assertion");
  assert.equal(req.fields.find((f) => f.name === "client_assertion_type")?.value, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");

  const shown = JSON.stringify([a, b, req]);
  assert.ok(!shown.includes(pem.split("\n")[1]), "the key is in what the module gave back");

  assert.throws(() => th.buildTokenRequest({ ...opts, clientAssertionKey: undefined }), (e) => e.field === "clientAssertionKey");
  assert.throws(() => th.buildTokenRequest({ tokenURL, clientId: "app", clientSecret: "s", clientAssertionKey: pem }), (e) => e.field === "clientAssertionKey");
  await assert.rejects(th.requestToken({ ...opts, clientAssertionKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }), (e) => e.field === "clientAssertionKey");
});
