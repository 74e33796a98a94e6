// tabs.mjs: the JS module's sharing across tabs (see tokenhelper.mjs).
//
// Sharing across tabs. The Web Locks API elects the tab that renews and a
// BroadcastChannel hands its token to the others; both are event-loop
// APIs, so this part is JavaScript, and Go's Cache and Coordinator (wasm/
// shared.go) only call it. Everything is in memory: nothing goes to
// localStorage, sessionStorage or IndexedDB (but the DPoP key, below).
// Names and messages are keyed by the core's cache key, a hash of the
// options without the secret and the password, followed by a fingerprint
// of the credentials (credentialName, below), so that a tab given a wrong
// secret neither receives nor replaces the tokens of the right one; a
// message holds an access token with its type and expiry, or a failure's
// code, status and window: never a refresh token, an ID token or a secret.

export function canShareTabs() {
  return (
    typeof BroadcastChannel === "function" &&
    typeof globalThis.navigator?.locks?.request === "function" &&
    typeof globalThis.crypto?.subtle?.deriveBits === "function"
  );
}

// fingerprintIterations is the PBKDF2 cost of a credential fingerprint,
// the Worker's (worker/README, "Credentials in the key"). The names it
// ends up in (BroadcastChannel, Web Locks) are seen only by scripts of
// the same origin, which can read the page's secrets anyway: the
// fingerprint is there to tell credentials apart, the iterations only
// make it no cheaper to test guesses with than the Worker's.
const fingerprintIterations = 2000;

/**
 * credentialName resolves to the name under which a source's tokens are
 * shared: key (the core's cache key) followed by "-" and the fingerprint
 * of the credentials in options, the same as Go's fingerprint.Slow(cfg,
 * 2000) (PBKDF2-HMAC-SHA256 of the length-prefixed client secret,
 * password and refresh token, salted with the cache key, 16 bytes in
 * hex), with a private_key_jwt key appended when there is one; key alone
 * when options hold no credential. Computed with WebCrypto: the browser's
 * WebAssembly carries no cryptography (the core's cache key is FNV).
 */
export async function credentialName(key, options) {
  const parts = [options?.clientSecret, options?.password, options?.refreshToken];
  if (options?.clientAssertionKey) parts.push(options.clientAssertionKey);
  if (!parts.some((p) => typeof p === "string" && p !== "")) return key;
  const enc = new TextEncoder();
  const chunks = [];
  for (const p of parts) {
    const b = enc.encode(typeof p === "string" ? p : "");
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.length);
    chunks.push(len, b);
  }
  const material = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (material.set(c, at), at + c.length), 0);
  const base = await crypto.subtle.importKey("raw", material, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: enc.encode("tokenhelper fingerprint v1\0" + key), iterations: fingerprintIterations },
    base,
    128,
  );
  return `${key}-${[...new Uint8Array(bits)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// askTimeout is how long a renewing tab waits for the other tabs'
// answers before it asks the provider (one that is closing never answers).
const askTimeout = 500;

export function tabsShared(go) {
  const keys = new Map(); // cache key -> entry
  const valid = (t) => t && t.expires_at > Date.now();
  const isToken = (t) =>
    t !== null && typeof t === "object" && typeof t.access_token === "string" && t.access_token !== "" &&
    typeof t.token_type === "string" && typeof t.expires_at === "number" && typeof t.obtained_at === "number";
  const plain = (t) => ({
    access_token: t.access_token,
    token_type: t.token_type,
    expires_in: typeof t.expires_in === "number" ? t.expires_in : 0,
    expires_at: t.expires_at,
    obtained_at: t.obtained_at,
  });

  function entry(key) {
    let e = keys.get(key);
    if (e) return e;
    const name = `tokenhelper:${key}`;
    e = { token: null, failure: null, sources: new Map(), asks: new Map(), channel: new BroadcastChannel(name) };
    e.lockName = name;
    e.presenceName = `${name}:present`;
    // A shared lock held while this tab has the key open: a renewing tab
    // counts the holders to know how many answers to wait for.
    e.present = new Promise((granted) => {
      navigator.locks
        .request(e.presenceName, { mode: "shared" }, () => {
          granted();
          return new Promise((release) => (e.leave = release));
        })
        .catch(() => granted());
    });
    e.channel.onmessage = ({ data: m }) => receive(e, m);
    keys.set(key, e);
    return e;
  }

  // take keeps a token from another tab if it is newer than the held one.
  function take(e, t) {
    if (!isToken(t) || !valid(t) || (e.token && e.token.expires_at >= t.expires_at)) return;
    e.token = plain(t);
    e.failure = null;
    for (const { emit } of e.sources.values()) emit(e.token);
  }

  function receive(e, m) {
    if (m === null || typeof m !== "object") return;
    switch (m.type) {
      case "token":
        take(e, m.token);
        break;
      case "invalidate":
        if (e.token?.access_token === m.access_token) e.token = null;
        // Go's Invalidate finds no token here now, so it does not send again.
        if (typeof m.access_token === "string") for (const id of e.sources.keys()) go.sourceInvalidate(id, m.access_token);
        break;
      case "failure":
        if (m.failure && typeof m.failure.code === "string" && typeof m.failure.until === "number") {
          e.failure = { code: m.failure.code, status: Number(m.failure.status) || 0, until: m.failure.until };
        }
        break;
      case "ask": {
        const t = valid(e.token) && e.token.expires_at > m.after ? e.token : undefined;
        e.channel.postMessage({ type: "answer", id: m.id, token: t });
        break;
      }
      case "answer":
        e.asks.get(m.id)?.(m.token);
        break;
    }
  }

  // ask gets a newer token from the other tabs that hold the key, if one
  // has it (a tab opened after the token was handed round has none): it
  // waits for each one's answer, at most askTimeout.
  async function ask(e) {
    const { held = [] } = await navigator.locks.query();
    const peers = new Set(held.filter((l) => l.name === e.presenceName).map((l) => l.clientId)).size - 1;
    if (peers <= 0) return;
    const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await new Promise((done) => {
      let left = peers;
      const timer = setTimeout(finish, askTimeout);
      function finish() {
        clearTimeout(timer);
        e.asks.delete(id);
        done();
      }
      e.asks.set(id, (t) => {
        take(e, t);
        if (isToken(t) || --left === 0) finish();
      });
      e.channel.postMessage({ type: "ask", id, after: e.token?.expires_at ?? 0 });
    });
  }

  const post = (e, m) => e.channel.postMessage(m);

  const shared = {
    get: (key) => (valid(keys.get(key)?.token) ? keys.get(key).token : null),
    put(key, t) {
      const e = entry(key);
      e.token = plain(t);
      e.failure = null;
      post(e, { type: "token", token: e.token });
      for (const { emit } of e.sources.values()) emit(e.token);
    },
    delete(key) {
      const e = keys.get(key);
      if (!e?.token) return;
      const access = e.token.access_token;
      e.token = null;
      post(e, { type: "invalidate", access_token: access });
    },
    putFailure(key, f) {
      const e = entry(key);
      e.failure = { code: f.code, status: f.status, until: f.until };
      post(e, { type: "failure", failure: e.failure });
    },
    getFailure: (key) => {
      const f = keys.get(key)?.failure;
      return f && f.until > Date.now() ? f : null;
    },
    // lock resolves, once this tab holds the Web Lock of the key, with
    // the function that releases it; before Go renews, the other tabs
    // are asked for a newer token. A tab that closes holding it loses
    // it, and the next tab in line takes over.
    async lock(key, signal) {
      const e = entry(key);
      await e.present;
      const release = await new Promise((resolve, reject) => {
        navigator.locks
          .request(e.lockName, { signal }, () => new Promise((unlock) => resolve(unlock)))
          .catch(reject);
      });
      try {
        await ask(e);
      } catch {
        // No answers: Go renews.
      }
      return release;
    },
  };

  return {
    // view is what Go's tabs type calls (wasm/shared.go) for one source:
    // the shared object above under the source's name, a Promise of its
    // credentialName, in place of the key Go passes (which lacks the
    // credentials). Until the name is known a read finds nothing and a
    // write waits for it; Go renews only under lock, which waits too.
    view(nameP) {
      let name = null;
      nameP.then((n) => (name = n), () => {});
      const later = (fn) => (name !== null ? fn(name) : void nameP.then(fn, () => {}));
      return {
        get: () => (name !== null ? shared.get(name) : null),
        put: (_key, t) => later((n) => shared.put(n, t)),
        delete: () => later((n) => shared.delete(n)),
        putFailure: (_key, f) => later((n) => shared.putFailure(n, f)),
        getFailure: () => (name !== null ? shared.getFailure(name) : null),
        lock: async (_key, signal) => shared.lock(await nameP, signal),
      };
    },
    // join adds a source, held weakly so that it can still be collected.
    join(key, id, emit) {
      const ref = new WeakRef(emit);
      entry(key).sources.set(id, { emit: (t) => ref.deref()?.(t) });
    },
    leave(key, id) {
      const e = keys.get(key);
      if (!e || !e.sources.delete(id) || e.sources.size > 0) return;
      keys.delete(key);
      e.channel.close();
      e.leave?.();
    },
    close() {
      for (const key of keys.keys()) {
        const e = keys.get(key);
        e.channel.close();
        e.leave?.();
      }
      keys.clear();
    },
  };
}

// DPoP (RFC 9449) for { worker, dpop: true }. The origin's one key is a
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

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const utf8 = (s) => new TextEncoder().encode(s);

/**
 * A DPoP proof (RFC 9449 4.2) by the origin's key for one request: htm
 * method, htu the URL without query and fragment, ath the SHA-256 of
 * accessToken when one is given.
 */
export async function dpopProof(method, url, accessToken) {
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
  const input = `${b64url(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk })))}.${b64url(utf8(JSON.stringify(payload)))}`;
  // WebCrypto's ECDSA signature is r || s, as JWS ES256 wants (RFC 7518 3.4).
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, utf8(input));
  return `${input}.${b64url(sig)}`;
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
