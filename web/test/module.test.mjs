// module.test.mjs: the API of dist/tokenhelper.mjs under Node, against a
// small token endpoint served by node:http on 127.0.0.1 (the real
// provider dialects are tested in Chromium against the demo provider).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { load, unload } from "../../dist/tokenhelper.mjs";

const SECRET = "s3cr3t-value";
let server;
let base;
const seen = []; // requests received: { path, type, body, auth }
let plan = []; // status codes to answer next, then 200
let issued = 0;

function jwt(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "none" })}.${enc(claims)}.sig`;
}

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ path: req.url, type: req.headers["content-type"], body, auth: req.headers.authorization });
      res.setHeader("Content-Type", "application/json");
      if (req.url === "/api") {
        const ok = req.headers.authorization === `Bearer tok-${issued}`;
        res.statusCode = ok ? 200 : 401;
        return res.end(JSON.stringify({ ok }));
      }
      const status = plan.shift() ?? 200;
      if (status !== 200) {
        res.statusCode = status;
        const error = status === 401 ? "invalid_client" : "server_error";
        return res.end(JSON.stringify({ error, error_description: "planned failure" }));
      }
      if (!body.includes(SECRET) && req.url !== "/worker") {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: "invalid_client", error_description: "bad secret" }));
      }
      issued++;
      const access = req.url === "/jwt" ? jwt({ sub: "me", exp: 4102444800 }) : `tok-${issued}`;
      res.end(JSON.stringify({ access_token: access, token_type: "bearer", expires_in: 3600, scope: "read" }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await unload();
  server.close();
});

const opts = (path = "/token", extra = {}) => ({ tokenURL: base + path, clientId: "c", clientSecret: SECRET, ...extra });

test("load is idempotent and safe to call concurrently", async () => {
  const all = await Promise.all([load(), load(), load()]);
  assert.ok(all.every((x) => x === all[0]));
  assert.equal(await load(), all[0]);
});

test("providers lists the profiles, custom last", async () => {
  const ps = (await load()).providers();
  assert.deepEqual(ps.map((p) => p.id), ["alphaus-ripple", "alphaus-wave", "aluma", "alluvial", "alluvial-staging", "custom"]);
  assert.equal(ps[0].encoding, "multipart");
});

test("buildTokenRequest: exact request, secret masked where shown", async () => {
  const th = await load();
  const r = th.buildTokenRequest({ provider: "aluma", clientId: "c", clientSecret: SECRET });
  assert.equal(r.method, "POST");
  assert.equal(r.url, "https://api.aluma.io/oauth/token");
  assert.equal(r.headers["Content-Type"], "application/x-www-form-urlencoded");
  assert.equal(r.body, `grant_type=client_credentials&client_id=c&client_secret=${SECRET}`);
  assert.deepEqual(r.fields.map((f) => [f.name, f.value, f.secret]), [
    ["grant_type", "client_credentials", false], ["client_id", "c", false], ["client_secret", "****", true]]);
  assert.ok(!r.curl.includes(SECRET) && r.curl.includes("****"));
  assert.ok(!r.redacted.body.includes(SECRET));
  const basic = th.buildTokenRequest(opts("/t", { authStyle: "basic", encoding: "json" }));
  assert.match(basic.headers.Authorization, /^Basic /);
  assert.equal(basic.redacted.headers.Authorization, "Basic ****");
  assert.equal(basic.body, '{"grant_type":"client_credentials"}');
  // RFC 8707 resource indicators: an array or a space-separated string.
  const apis = ["https://api.example.com/", "urn:example:inventory"];
  for (const resource of [apis, apis.join(" ")]) {
    const r = th.buildTokenRequest(opts("/t", { resource }));
    assert.deepEqual(new URLSearchParams(r.body).getAll("resource"), apis);
    assert.deepEqual(JSON.parse(th.buildTokenRequest(opts("/t", { resource, encoding: "json" })).body).resource, apis);
  }
});

test("buildTokenRequest: configuration errors name the field", async () => {
  const th = await load();
  const cases = [
    [{ provider: "aluma", clientId: "c" }, "ClientSecret"],
    [{ provider: "alluvial", clientId: "c", clientSecret: "x", audience: "" }, undefined],
    [{ provider: "nope", clientId: "c" }, "Provider"],
    [{ provider: "custom", tokenURL: "http://example.com/t", clientId: "c" }, "TokenURL"],
    [{ provider: "aluma", grantType: "password", clientId: "c", clientSecret: "x" }, "GrantType"],
    [{ client_id: "c" }, "client_id"],
    [{ clientId: 5 }, "clientId"],
    [{ worker: base, clientId: "c" }, "worker"],
    [{ provider: "custom", tokenURL: "https://as.example/t", clientId: "c", resource: ["/relative"] }, "Resource"],
    [{ provider: "custom", tokenURL: "https://as.example/t", clientId: "c", resource: [5] }, "Resource"],
  ];
  for (const [o, field] of cases) {
    let err;
    try {
      th.buildTokenRequest(o);
    } catch (e) {
      err = e;
    }
    if (field === undefined) {
      assert.equal(err, undefined, JSON.stringify(o)); // the profile's audience applies
      continue;
    }
    assert.ok(err instanceof Error, JSON.stringify(o));
    assert.equal(err.name, "TokenHelperError");
    assert.equal(err.code, "config");
    assert.equal(err.status, 0);
    assert.equal(err.field, field, err.message);
    assert.ok(!err.message.includes(SECRET));
  }
});

test("requestToken: token object, retries 500, rejects invalid_client", async () => {
  const th = await load();
  plan = [500];
  const n = seen.length;
  const tok = await th.requestToken(opts("/jwt", { encoding: "json" }));
  assert.equal(seen.length - n, 2, "one retry after the 500");
  assert.equal(tok.token_type, "Bearer");
  assert.equal(tok.expires_in, 3600);
  assert.ok(Math.abs(tok.expires_at - (Date.now() + 3600e3)) < 5000);
  assert.equal(tok.scope, "read");
  assert.deepEqual(tok.claims, { sub: "me", exp: 4102444800 });
  assert.equal(seen.at(-1).type, "application/json");
  // raw: the answer as sent, the provider's spelling of token_type included.
  assert.deepEqual(tok.raw, { access_token: tok.access_token, token_type: "bearer", expires_in: 3600, scope: "read" });
  assert.deepEqual(Object.keys(tok.raw), ["access_token", "token_type", "expires_in", "scope"]);
  const src = th.createTokenSource(opts());
  assert.equal((await src.getToken()).raw, undefined, "a source's tokens carry no raw");
  src.close();

  await assert.rejects(th.requestToken(opts("/token", { clientSecret: "wrong-secret-value" })), (err) => {
    assert.equal(err.code, "invalid_client");
    assert.equal(err.status, 401);
    assert.equal(err.description, "bad secret");
    return true;
  });
  // A secret too short to mask: the provider's text is withheld, the code kept.
  await assert.rejects(th.requestToken(opts("/token", { clientSecret: "wrong" })), (err) => {
    assert.equal(err.code, "invalid_client");
    assert.match(err.description, /^\(withheld: /);
    assert.ok(!err.message.includes("****"), err.message);
    return true;
  });
  await assert.rejects(th.requestToken(opts("/token", { tokenURL: "http://127.0.0.1:1/token" })), { code: "network", status: 0 });
  await assert.rejects(th.requestToken({ provider: "aluma" }), { code: "config", field: "ClientID" });
});

test("createTokenSource: cached, one request for many callers, fetch retries 401 once", async () => {
  const th = await load();
  const src = th.createTokenSource(opts());
  const n = seen.length;
  const toks = await Promise.all(Array.from({ length: 8 }, () => src.getToken()));
  assert.equal(seen.length - n, 1, "single flight");
  assert.ok(toks.every((t) => t.access_token === toks[0].access_token));
  assert.equal((await src.getToken()).access_token, toks[0].access_token, "cached");

  issued++; // the API now only accepts a token the source does not hold
  const res = await src.fetch(`${base}/api`, { method: "POST", body: "payload" });
  assert.equal(res.status, 200);
  const api = seen.filter((r) => r.path === "/api").slice(-2);
  assert.equal(api.length, 2);
  assert.equal(api[1].body, "payload", "the body is sent again on the retry");
  assert.notEqual(api[0].auth, api[1].auth);

  // Within the floor a 401 costs no provider request and no second call.
  issued++;
  const before = seen.length;
  const again = await src.fetch(`${base}/api`, { method: "POST", body: "payload" });
  assert.equal(again.status, 401, "the API's own 401 is the answer");
  assert.deepEqual(seen.slice(before).map((r) => r.path), ["/api"], "one API call, no token request");
  src.close();
  await assert.rejects(src.getToken(), /closed/);
});

test("worker mode: a bodiless POST to the worker", async () => {
  const th = await load();
  const src = th.createTokenSource({ worker: `${base}/worker` });
  const tok = await src.getToken();
  assert.match(tok.access_token, /^tok-/);
  const r = seen.at(-1);
  assert.equal(r.path, "/worker");
  assert.equal(r.body, "");
  assert.equal(r.auth, undefined);
  const req = th.buildTokenRequest({ worker: `${base}/worker` });
  assert.equal(req.method, "POST");
  assert.deepEqual(req.fields, []);
  assert.equal((await th.requestToken({ worker: `${base}/worker` })).token_type, "Bearer");
});

test("worker mode: a relative fetch goes to the worker's own /api (mode mint)", async () => {
  const th = await load();
  const src = th.createTokenSource({ worker: `${base}/worker` });
  const res = await src.fetch("/api");
  assert.equal(res.status, 200);
  const r = seen.at(-1);
  assert.equal(r.path, "/api");
  assert.match(r.auth, /^Bearer tok-/);
  assert.throws(() => th.createTokenSource({ worker: "http://example.com/token" }), /https URL/);
});

test("unload releases the functions; load starts again", async () => {
  const th = await load();
  await unload();
  assert.throws(() => th.providers(), /released|exited/);
  const th2 = await load();
  assert.notEqual(th2, th);
  assert.equal(th2.providers().length, 6);
});

test("signal: an aborted call rejects with AbortError, code aborted", async () => {
  const th = await load();
  const before = seen.length;
  await assert.rejects(th.requestToken(opts(), { signal: AbortSignal.abort() }), { name: "AbortError", code: "aborted" });
  assert.equal(seen.length, before, "no request for a call aborted before it started");
  const src = th.createTokenSource(opts());
  const ac = new AbortController();
  const p = src.getToken({ signal: ac.signal });
  ac.abort();
  await assert.rejects(p, { name: "AbortError", code: "aborted", status: 0 });
  assert.equal(typeof (await src.getToken()).access_token, "string");
  src.close();
});

test("a source is an EventTarget with token events; without Web Locks it asks alone", async () => {
  const th = await load();
  assert.equal(typeof globalThis.navigator?.locks, "undefined", "Node has no Web Locks: the fallback is tested");
  const src = th.createTokenSource(opts("/token", { shareAcrossTabs: true }));
  const events = [];
  src.addEventListener("token", (ev) => events.push(ev.token.access_token));
  const t = await src.getToken();
  await src.getToken();
  assert.deepEqual(events, [t.access_token]);
  assert.ok(t.expires_at > Date.now());
  assert.throws(() => th.createTokenSource(opts("/token", { shareAcrossTabs: "yes" })), { code: "config", field: "shareAcrossTabs" });
  src.close();
});
