// vectors.mjs: JWTs and non-JWTs on which tokenhelper's decodeJWT must
// behave as the jwt-decode npm package does, shared by the Node tests
// (decode.test.mjs) and the Chromium page (browser-test/compat.html).
// Runs in both: no Node or DOM API.

const utf8 = new TextEncoder();

// b64url encodes a string's UTF-8 bytes as unpadded base64url.
export function b64url(s, { pad = false, std = false } = {}) {
  let bin = "";
  for (const b of utf8.encode(s)) bin += String.fromCharCode(b);
  let out = btoa(bin);
  if (!std) out = out.replace(/\+/g, "-").replace(/\//g, "_");
  return pad ? out : out.replace(/=+$/, "");
}

const header = '{"alg":"HS256","typ":"JWT","kid":"k1"}';
const standard = JSON.stringify({
  iss: "https://login.example.com/", sub: "user-42", aud: ["api", "web"], exp: 4102444800,
  nbf: 1700000000, iat: 1700000000, jti: "id-1", scope: "openid profile", admin: true, n: 1.5, nil: null,
  nested: { a: [1, "two", { three: 3 }] },
});
const jwt = (h, p) => `${b64url(h)}.${b64url(p)}.c2lnbmF0dXJl`;

/**
 * Each vector: a name, the token (any JS value) and decode options.
 */
export const vectors = [
  { name: "standard claims", token: jwt(header, standard) },
  { name: "header option", token: jwt(header, standard), options: { header: true } },
  { name: "header: false is the payload", token: jwt(header, standard), options: { header: false } },
  { name: "UTF-8 payload", token: jwt(header, '{"name":"José Ñandú 日本語 😀","city":"Zürich"}') },
  { name: "UTF-8 header", token: jwt('{"alg":"none","kid":"clé-ключ"}', "{}"), options: { header: true } },
  { name: "padded payload (1 =)", token: `${b64url(header)}.${b64url('{"ab":1}', { pad: true })}.x` },
  { name: "padded payload (2 =)", token: `${b64url(header)}.${b64url('{"a":12}', { pad: true })}.x` },
  { name: "standard base64 alphabet", token: `${b64url(header)}.${b64url('{"q":"??>>~~"}', { std: true })}.x` },
  { name: "url-safe alphabet", token: `${b64url(header)}.${b64url('{"q":"??>>~~"}')}.x` },
  { name: "no signature part", token: `${b64url(header)}.${b64url('{"a":1}')}` },
  { name: "extra parts", token: `${b64url(header)}.${b64url('{"a":1}')}.x.y.z` },
  { name: "payload is a number", token: `x.${b64url("123")}.x` },
  { name: "payload is a string", token: `x.${b64url('"str"')}.x` },
  { name: "payload is an array", token: `x.${b64url("[1,2,3]")}.x` },
  { name: "payload is null", token: `x.${b64url("null")}.x` },
  { name: "big integer claim", token: `x.${b64url('{"big":12345678901234567890}')}.x` },
  { name: "unicode escapes", token: `x.${b64url('{"e":"\\u00e9\\ud83d\\ude00"}')}.x` },
  { name: "Latin-1 payload (not UTF-8)", token: `x.${btoa('{"city":"Z\xfcrich"}').replace(/=+$/, "")}.x` },
  { name: "whitespace inside the base64", token: `x.${b64url('{"a":"bcdef"}').replace(/(.{4})/g, "$1 ")}.x` },
  { name: "number beyond float64", token: `x.${b64url('{"n":1e400}')}.x` },
  { name: "members keep their order", token: `x.${b64url('{"z":1,"a":2,"m":3}')}.x` },
  // Errors.
  { name: "not a string: number", token: 123 },
  { name: "not a string: null", token: null },
  { name: "not a string: undefined", token: undefined },
  { name: "not a string: object", token: { a: 1 } },
  { name: "empty string", token: "" },
  { name: "one part", token: "abc" },
  { name: "one part, header option", token: "abc", options: { header: true } },
  { name: "empty payload", token: "a..c" },
  { name: "payload length 1 mod 4", token: "a.abcde.c" },
  { name: "over-padding", token: "a.YQ===.c" },
  { name: "invalid base64 characters", token: "a.!!!.c" },
  { name: "invalid base64 in header", token: "!!!.e30.c", options: { header: true } },
  { name: "not JSON", token: `a.${b64url("not json")}.c` },
  { name: "truncated JSON", token: `a.${b64url('{"a":')}.c` },
  { name: "header not JSON", token: `${b64url("{nope")}.e30.c`, options: { header: true } },
];

// errorShape is what must agree on errors: the class name and the message
// up to the engine-specific reason in parentheses.
function errorShape(err) {
  return { name: err?.name, message: String(err?.message).replace(/ \(.*\)$/s, " (…)") };
}

/**
 * compare runs both decoders on a vector and returns "" when they agree
 * (same value, or the same error class and message up to the reason),
 * else a description of the difference.
 */
export function compare(ours, theirs, v) {
  const run = (fn) => {
    try {
      return { value: fn(v.token, v.options) };
    } catch (err) {
      return { error: errorShape(err) };
    }
  };
  const a = run(ours);
  const b = run(theirs);
  // Compared as text: the members must come in the same order too.
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa === sb ? "" : `${v.name}: tokenhelper ${sa}, jwt-decode ${sb}`;
}
