// crypto.mjs: the JS module's WebCrypto signers (see tokenhelper.mjs):
// the origin's DPoP key and its proofs (RFC 9449), and client assertions
// (RFC 7523). Go's core builds what is signed; the keys stay here, as
// non-extractable CryptoKeys, and never cross into Go.

// DPoP (RFC 9449) for { worker, dpop: true } and for custom providers
// with { tokenURL or issuer, dpop: true }. The origin's one key is a
// non-extractable WebCrypto ECDSA P-256 key kept as a CryptoKey in
// IndexedDB ("tokenhelper-dpop"), so that the origin's tabs and reloads
// share it and tokens bound to it stay usable. Its private half is never
// exported: neither this module nor a script in the page can read it,
// though a script running in the page can have it sign while it runs.
// Without IndexedDB (Node, some private modes) the key lives in this
// page's memory only.
const dpopDB = "tokenhelper-dpop";
let dpopKeyP = null;

function idb(db, mode, run) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("keys", mode);
    const req = run(tx.objectStore("keys"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error ?? req.error);
  });
}

async function newKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey); // the public half only
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y } };
}

async function loadKey() {
  if (typeof indexedDB === "undefined") return newKey();
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(dpopDB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("keys");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  }).catch(() => null);
  if (!db) return newKey();
  try {
    const have = await idb(db, "readonly", (st) => st.get("default"));
    if (have?.privateKey && have?.jwk) return have;
    const k = await newKey();
    // add, not put: when another tab stored its key first, use that one.
    return await idb(db, "readwrite", (st) => st.add(k, "default")).then(
      () => k,
      () => idb(db, "readonly", (st) => st.get("default")),
    );
  } finally {
    db.close();
  }
}

/** The origin's DPoP key: { privateKey: CryptoKey, jwk } (public JWK). */
export function dpopKey() {
  dpopKeyP ??= loadKey().catch((err) => {
    dpopKeyP = null;
    throw err;
  });
  return dpopKeyP;
}

/**
 * The RFC 7638 thumbprint of the origin's DPoP key (what a bound token
 * carries as cnf.jkt), to tell keys apart in the names tabs share
 * tokens under: without IndexedDB each page has a key of its own, and a
 * token bound to one is useless to another.
 */
export async function dpopThumbprint() {
  const { jwk } = await dpopKey();
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }); // members in RFC 7638's order
  return b64url(await crypto.subtle.digest("SHA-256", utf8(canonical)));
}

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const utf8 = (s) => new TextEncoder().encode(s);

/**
 * A DPoP proof (RFC 9449 4.2) by the origin's key for one request: htm
 * method, htu the URL without query and fragment, ath the SHA-256 of
 * accessToken when one is given, nonce the server's when given.
 */
export async function dpopProof(method, url, accessToken, nonce) {
  const { privateKey, jwk } = await dpopKey();
  const u = new URL(url);
  u.search = "";
  u.hash = "";
  const payload = {
    jti: b64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: method,
    htu: u.href,
    iat: Math.floor(Date.now() / 1000),
  };
  if (accessToken) payload.ath = b64url(await crypto.subtle.digest("SHA-256", utf8(accessToken)));
  if (nonce) payload.nonce = nonce;
  const input = `${b64url(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk })))}.${b64url(utf8(JSON.stringify(payload)))}`;
  // WebCrypto's ECDSA signature is r || s, as JWS ES256 wants (RFC 7518 3.4).
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, utf8(input));
  return `${input}.${b64url(sig)}`;
}

// apiNonces are the DPoP-Nonce values APIs sent to the module's fetch
// (RFC 9449 9), by origin (a nonce is the server's), as the core's
// memory (dpopseam.go) keeps the token endpoints' for the token
// requests Go sends: the same rules, bounded the same way (when full it
// starts again, which costs a server one more use_dpop_nonce answer).
// An API and a token endpoint at one origin may each learn the nonce
// once.
const apiNonces = new Map();
const maxNonces = 256;
const maxNonce = 512;

const originOf = (url) => new URL(url).origin;

/** The nonce last remembered for url's server, or undefined. */
export function apiNonce(url) {
  return apiNonces.get(originOf(url));
}

/**
 * Remembers a DPoP-Nonce an API sent with an answer to url, reporting
 * whether it differs from carried, the nonce of the proof that request
 * sent (a use_dpop_nonce refusal is retried only then: the proof
 * decides, not the memory, so that two calls refused at once with the
 * same new nonce both retry; Go's NoteDPoPNonce does the same).
 */
export function rememberAPINonce(url, nonce, carried) {
  if (!nonce || nonce.length > maxNonce) return false;
  const o = originOf(url);
  if (apiNonces.get(o) !== nonce) {
    if (apiNonces.size >= maxNonces) apiNonces.clear();
    apiNonces.set(o, nonce);
  }
  return nonce !== carried;
}

// Client assertions (RFC 7523 2.2, OpenID Connect Core 9) for custom
// providers with authStyle "private_key_jwt" (options.clientAssertionKey,
// a PEM PKCS #8 private key) or "client_secret_jwt" (the client secret,
// HMAC SHA-256). Go's core makes the claims and the request; this signs
// them with WebCrypto. The key is imported non-extractable and the PEM
// text is not kept: this module holds only the CryptoKey, in memory, and
// never stores, broadcasts or logs it. Errors name the option, never its
// value.

// keyAlgs are the private_key_jwt keys WebCrypto imports, tried in turn
// (the PKCS #8 algorithm identifier says which one fits), as Go's package
// assertion accepts them: RS256 (2048 bits or more), ES256/384/512,
// EdDSA (Ed25519).
const keyAlgs = [
  { alg: "RS256", imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5" } },
  { alg: "ES256", imp: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  { alg: "ES384", imp: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } },
  { alg: "ES512", imp: { name: "ECDSA", namedCurve: "P-521" }, sign: { name: "ECDSA", hash: "SHA-512" } },
  { alg: "EdDSA", imp: { name: "Ed25519" }, sign: { name: "Ed25519" } },
];

// minSecret is the shortest client_secret_jwt secret, as Go's
// assertion.MinSecret (RFC 7518 3.2: a key of at least the hash's size).
const minSecret = 32;

class KeyError extends Error {}

// pkcs8 returns the DER bytes of a PEM "PRIVATE KEY" block.
function pkcs8(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) {
    const other = /-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(pem);
    throw new KeyError(
      other
        ? "must be PKCS #8 (BEGIN PRIVATE KEY) in a browser: convert it with openssl pkcs8 -topk8 -nocrypt"
        : "must be a PEM private key (BEGIN PRIVATE KEY)",
    );
  }
  return Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

async function importSigningKey(pem) {
  const der = pkcs8(pem);
  for (const k of keyAlgs) {
    let key;
    try {
      key = await crypto.subtle.importKey("pkcs8", der, k.imp, false, ["sign"]);
    } catch {
      continue; // another algorithm's key, or one this browser lacks
    }
    if (k.alg === "RS256" && key.algorithm.modulusLength < 2048) throw new KeyError("an RSA key needs 2048 bits or more");
    return { alg: k.alg, key, sign: k.sign };
  }
  throw new KeyError("must be an RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519 private key");
}

async function importSecret(secret) {
  const raw = utf8(secret);
  if (raw.length < minSecret) throw new KeyError(`client_secret_jwt needs a client secret of ${minSecret} bytes or more`);
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return { alg: "HS256", key, sign: { name: "HMAC" } };
}

/**
 * assertionSigner returns, for options with authStyle private_key_jwt or
 * client_secret_jwt, the function Go's core calls with the claims (JSON
 * text) to sign, and ready, a Promise that rejects, with the option at
 * fault and the reason, when the key cannot sign. The key is imported
 * once, at once; the header is Go's: alg, kid when given, typ JWT.
 */
export function assertionSigner(options) {
  const jwt = options.authStyle === "private_key_jwt";
  const field = jwt ? "clientAssertionKey" : "clientSecret";
  const imported = (jwt ? importSigningKey(options.clientAssertionKey) : importSecret(options.clientSecret ?? "")).catch(
    (err) => {
      // WebCrypto's own texts say nothing of the key; ours name the option.
      throw Object.assign(new Error(`tokenhelper: option "${field}": ${err instanceof KeyError ? err.message : "cannot be imported"}`), {
        name: "TokenHelperError",
        code: "config",
        status: 0,
        field,
      });
    },
  );
  const kid = jwt ? options.clientAssertionKid : undefined;
  const sign = async (claims) => {
    const { alg, key, sign } = await imported;
    // JSON.stringify writes members in this order: Go's json.Marshal of
    // its map sorts them the same way (alg, kid, typ).
    const header = kid ? { alg, kid, typ: "JWT" } : { alg, typ: "JWT" };
    const input = `${b64url(utf8(JSON.stringify(header)))}.${b64url(utf8(claims))}`;
    // ECDSA's WebCrypto signature is r || s, as JWS wants (RFC 7518 3.4).
    return `${input}.${b64url(await crypto.subtle.sign(sign, key, utf8(input)))}`;
  };
  const ready = imported.then(() => undefined);
  ready.catch(() => {}); // handled by whoever awaits it, not an unhandled rejection
  return { sign, ready };
}
