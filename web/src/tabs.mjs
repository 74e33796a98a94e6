// tabs.mjs: the JS module's sharing across tabs (see tokenhelper.mjs).
//
// Sharing across tabs. The Web Locks API elects the tab that renews and a
// BroadcastChannel hands its token to the others; both are event-loop
// APIs, so this part is JavaScript, and Go's Cache and Coordinator (wasm/
// shared.go) only call it. Everything is in memory: nothing goes to
// localStorage, sessionStorage or IndexedDB (but the DPoP key, crypto.mjs).
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
 * of the credentials in options: PBKDF2-HMAC-SHA256 of the
 * length-prefixed client secret, password and refresh token, salted with
 * the cache key, 16 bytes in hex (Go's fingerprint.Slow(cfg, 2000)), and
 * of a private_key_jwt key appended when there is one (then it differs
 * from Go's, which leaves the key out); key alone
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
