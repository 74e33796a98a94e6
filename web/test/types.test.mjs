// types.test.mjs: dist/tokenhelper.d.ts type-checks a consumer written in
// TypeScript (strict), and rejects a misuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, writeFile, symlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const dist = fileURLToPath(new URL("../../dist/", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

const good = `
import { load, unload, InvalidTokenError, type Token, type TokenHelperError, type AbortError } from "tokenhelper";
const th = await load({ wasm: new URL("https://example.com/tokenhelper.wasm") });
const claims = th.decodeJWT<{ sub: string }>("a.b.c");
const sub: string = claims.sub;
const header = th.decodeJWT("a.b.c", { header: true });
const req = th.buildTokenRequest({ provider: "aluma", clientId: "c", clientSecret: "s" });
const curl: string = req.curl;
const ac = new AbortController();
const tok: Token = await th.requestToken({ worker: "https://w.example/token" }, { signal: ac.signal });
const at: number = tok.expires_at;
const members: string[] = Object.keys(tok.raw ?? {});
const gated = th.createTokenSource({ worker: "https://w.example/token", credentials: "include", callerToken: async () => "jwt" });
await gated.getToken();
const bound = th.createTokenSource({ worker: "https://w.example/token", dpop: true });
await bound.fetch("/api/items");
const md = await th.discover("https://issuer.example");
const te: string = md.token_endpoint;
const methods: string[] = md.token_endpoint_auth_methods_supported;
const signed = th.createTokenSource({ issuer: "https://issuer.example", clientId: "c", authStyle: "private_key_jwt", clientAssertionKey: "-----BEGIN PRIVATE KEY-----", clientAssertionKid: "k1" });
const shown = await th.clientAssertion({ issuer: "https://issuer.example", clientId: "c", authStyle: "client_secret_jwt", clientSecret: "s" });
const aud: unknown = shown.claims.aud;
const proof: string = await th.dpopProof("GET", "https://w.example/api/items", "tok");
const nonced: string = await th.dpopProof("GET", "https://api.example/items", "tok", "n-1");
const boundCustom = th.createTokenSource({ issuer: "https://issuer.example", clientId: "c", clientSecret: "s", dpop: true });
const src = th.createTokenSource({ provider: "custom", tokenURL: "https://x/t", encoding: "json", authStyle: "basic", clientId: "c" });
const res: Response = await src.fetch("https://api.example.com/", { method: "POST" });
src.invalidate(tok);
const shared = th.createTokenSource({ provider: "aluma", clientId: "c", clientSecret: "s", shareAcrossTabs: false });
await shared.getToken({ signal: AbortSignal.timeout(1000) });
shared.addEventListener("token", (ev) => { const when: number = ev.token.expires_at; });
src.close();
try { await src.getToken(); } catch (e) { const err = e as TokenHelperError | AbortError; const c: string = err.code; const s: number = err.status; }
const ids: string[] = th.providers().map((p) => p.id);
if (header instanceof InvalidTokenError) throw header;
await unload();
export { sub, curl, at, members, res, ids, nonced, boundCustom };
`;
const bad = `
import { load } from "tokenhelper";
const th = await load();
th.buildTokenRequest({ provider: "aluma", encoding: "xml" });
th.createTokenSource({ provider: "aluma", shareAcrossTabs: "no" });
th.createTokenSource({ issuer: "https://issuer.example", dpop: "yes" });
`;

async function check(dir, source) {
  await writeFile(path.join(dir, "app.ts"), source);
  try {
    await promisify(execFile)(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
      "--moduleResolution", "nodenext", "--lib", "es2022,dom", "--skipLibCheck", "false", "app.ts"], { cwd: dir, timeout: 60000 });
    return "";
  } catch (err) {
    return String(err.stdout || err.message);
  }
}

test("tokenhelper.d.ts types a strict TypeScript consumer", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "tokenhelper-types-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, "package.json"), '{"type":"module"}');
  await mkdir(path.join(dir, "node_modules"));
  await symlink(dist, path.join(dir, "node_modules", "tokenhelper"), "dir");
  assert.equal(await check(dir, good), "");
  const errs = await check(dir, bad);
  assert.match(errs, /"xml"/);
  assert.match(errs, /app\.ts\(5,\d+\): error TS2322/); // shareAcrossTabs: "no"
  assert.match(errs, /app\.ts\(6,\d+\): error TS2322/); // dpop: "yes"
});
