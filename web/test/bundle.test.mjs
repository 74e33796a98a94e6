// bundle.test.mjs: dist/ is importable by a bundler. A consumer that
// imports "tokenhelper" (dist/package.json's exports) is bundled by
// esbuild for browsers into one file, the .wasm is put beside it, and the
// bundle runs under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, writeFile, copyFile, symlink, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";

const dist = fileURLToPath(new URL("../../dist/", import.meta.url));

const consumer = `
import { load, unload, InvalidTokenError } from "tokenhelper";
const th = await load();
const claims = th.decodeJWT("eyJhbGciOiJub25lIn0.eyJzdWIiOiJidW5kbGVkIn0.");
let err;
try { th.decodeJWT("abc"); } catch (e) { err = e; }
let cfg;
try { th.buildTokenRequest({ provider: "aluma" }); } catch (e) { cfg = e; }
console.log(JSON.stringify({ sub: claims.sub, invalid: err instanceof InvalidTokenError, code: cfg.code, field: cfg.field }));
await unload();
`;

test("esbuild bundles a consumer of dist/ and the bundle runs", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "tokenhelper-bundle-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, "node_modules"));
  await symlink(dist, path.join(dir, "node_modules", "tokenhelper"), "dir");
  await writeFile(path.join(dir, "app.mjs"), consumer);
  const out = path.join(dir, "out", "app.mjs");
  const result = await esbuild.build({
    entryPoints: [path.join(dir, "app.mjs")],
    absWorkingDir: dir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: out,
    logLevel: "silent",
  });
  assert.deepEqual(result.errors, []);
  const code = await readFile(out, "utf8");
  assert.ok(code.includes("globalThis.Go"), "wasm_exec.js is bundled in");
  assert.ok(!/^import .* from "tokenhelper"/m.test(code), "tokenhelper is bundled in");
  await copyFile(path.join(dist, "tokenhelper.wasm"), path.join(dir, "out", "tokenhelper.wasm"));
  const { stdout } = await promisify(execFile)(process.execPath, [out], { timeout: 30000 });
  assert.deepEqual(JSON.parse(stdout), { sub: "bundled", invalid: true, code: "config", field: "ClientID" });
});
