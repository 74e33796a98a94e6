// decode.test.mjs: tokenhelper's decodeJWT against the jwt-decode npm
// package, vector by vector (vectors.mjs), under Node. Needs dist/ (run
// ../../build.sh build).
import { test } from "node:test";
import assert from "node:assert/strict";
import { jwtDecode } from "jwt-decode";
import { load, InvalidTokenError } from "../../dist/tokenhelper.mjs";
import { vectors, compare, b64url } from "./vectors.mjs";

const th = await load();

for (const v of vectors) {
  test(`decodeJWT matches jwt-decode: ${v.name}`, () => {
    assert.equal(compare(th.decodeJWT, jwtDecode, v), "");
  });
}

test("decodeJWT throws InvalidTokenError instances", () => {
  assert.throws(() => th.decodeJWT(42), (err) => err instanceof InvalidTokenError && err instanceof Error);
  assert.throws(() => th.decodeJWT("abc"), { name: "InvalidTokenError", message: "Invalid token specified: missing part #2" });
  assert.throws(() => th.decodeJWT("a.abcde.c"), {
    message: "Invalid token specified: invalid base64 for part #2 (base64 string is not of the correct length)",
  });
});

test("decodeJWT keeps jwt-decode's values exactly", () => {
  const token = `x.${b64url('{"sub":"u","exp":4102444800,"aud":["a"],"x":{"y":null},"f":0.25}')}.s`;
  assert.deepEqual(th.decodeJWT(token), { sub: "u", exp: 4102444800, aud: ["a"], x: { y: null }, f: 0.25 });
});
