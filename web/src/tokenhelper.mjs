// tokenhelper.mjs: OAuth2 access tokens from the browser. The tokenhelper
// Go core, compiled to WebAssembly, builds each token request, sends it
// with the page's fetch and parses the answer; this module loads it once
// and wraps it in the Promise API described in tokenhelper.d.ts.
//
//   import { load } from "tokenhelper";
//   const th = await load();
//   const token = await th.requestToken({ provider: "aluma", clientId, clientSecret });
//
// A secret given to this module stays in this browser. To keep it on a
// server, deploy the tokenhelper Worker and use { worker: "https://…/token" }.
import "./wasm_exec.js"; // defines globalThis.Go, the Go WebAssembly runtime

/** The error decodeJWT throws, as jwt-decode's InvalidTokenError. */
export class InvalidTokenError extends Error {}
InvalidTokenError.prototype.name = "InvalidTokenError";

let loading = null; // the Promise of the API, once load() was called
let seq = 0;

/**
 * Loads and starts the WebAssembly module once, however often and from
 * however many places it is called, and resolves to the API. A failed load
 * can be retried. options.wasm overrides where the module comes from.
 */
export function load(options = {}) {
  if (!loading) {
    loading = start(options).catch((err) => {
      loading = null;
      throw err;
    });
  }
  return loading;
}

/**
 * Stops the WebAssembly module, releasing every function it exported;
 * a later load() starts a new one. APIs obtained before stop working.
 */
export async function unload() {
  const p = loading;
  loading = null;
  if (!p) return;
  const api = await p.catch(() => null);
  if (api) await api[stop]();
}

const stop = Symbol("stop");

async function start(options) {
  const go = new globalThis.Go();
  const name = `__tokenhelperReady${++seq}_${Math.random().toString(36).slice(2)}`;
  const ready = new Promise((resolve) => {
    globalThis[name] = resolve;
  });
  go.argv = ["tokenhelper", name];
  try {
    const instance = await instantiate(options.wasm, go.importObject);
    // Once the program exits, drop the wakeups the Go scheduler left
    // pending (wasm_exec.js keeps them in _scheduledTimeouts): they would
    // keep Node alive and then throw "Go program has already exited".
    const exited = go.run(instance).then(() => {
      for (const t of go._scheduledTimeouts?.values() ?? []) clearTimeout(t);
      go._scheduledTimeouts?.clear();
    });
    const early = exited.then(() => {
      throw new Error("tokenhelper: the WebAssembly module exited while starting");
    });
    return wrap(await Promise.race([ready, early]), exited, direct(instance));
  } finally {
    delete globalThis[name];
  }
}

// instantiate compiles the module from a URL (streaming when the server
// sends application/wasm), a Response, bytes or a compiled Module.
async function instantiate(src, imports) {
  src ??= new URL("./tokenhelper.wasm", import.meta.url);
  if (src instanceof WebAssembly.Module) return WebAssembly.instantiate(src, imports);
  if (typeof src === "string") src = new URL(src, globalThis.location?.href ?? import.meta.url);
  if (src instanceof URL) {
    if (src.protocol === "file:") {
      // Node: fetch cannot read files. The name is a variable so that
      // bundlers targeting browsers leave this import alone.
      const fsName = "node:fs/promises";
      const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsName);
      src = await fs.readFile(src);
    } else {
      src = fetch(src, { credentials: "same-origin" });
    }
  }
  src = await src;
  if (typeof Response === "function" && src instanceof Response) {
    if (!src.ok) {
      throw new Error(`tokenhelper: cannot load the WebAssembly module: HTTP ${src.status} for ${src.url}`);
    }
    const type = src.headers.get("Content-Type") || "";
    if (typeof WebAssembly.instantiateStreaming === "function" && type.startsWith("application/wasm")) {
      return (await WebAssembly.instantiateStreaming(src, imports)).instance;
    }
    src = await src.arrayBuffer();
  }
  return (await WebAssembly.instantiate(src, imports)).instance;
}

// wrap turns the functions exported by Go into the public API. Go
// callbacks cannot throw: they return an Error, rethrown here.
// direct is decodeJWT through the module's direct export (wasm/direct.go):
// one WebAssembly call, the token written into and the answer read from
// Go's buffer; undefined when it cannot serve (no such export, a token
// too long), so that the js.FuncOf way serves instead.
function direct(instance) {
  const { tokenhelper_io: io, tokenhelper_decode: decode, mem } = instance.exports;
  if (typeof decode !== "function" || typeof io !== "function") return () => undefined;
  const at = io();
  const cap = 64 << 10;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return (token, header) => {
    if (token.length * 3 > cap) return undefined; // may not fit as UTF-8
    const { written } = enc.encodeInto(token, new Uint8Array(mem.buffer, at, cap));
    const n = decode(written, header);
    if (n === -2147483648) return undefined; // the answer did not fit
    const text = dec.decode(new Uint8Array(mem.buffer, at, Math.abs(n)));
    if (n < 0) throw new InvalidTokenError(text);
    return JSON.parse(text);
  };
}

function wrap(go, exited, fastDecode) {
  const check = (r) => {
    if (r instanceof Error) throw r;
    return r;
  };
  let stopped = false; // after unload(), the Go functions are released
  const tabs = canShareTabs() ? tabsShared(go) : null;
  const registry =
    typeof FinalizationRegistry === "function"
      ? new FinalizationRegistry(({ id, key }) => {
          if (stopped) return;
          tabs?.leave(key, id);
          go.sourceClose(id);
        })
      : null;

  function createTokenSource(options) {
    const share = options?.shareAcrossTabs !== false && tabs !== null;
    const id = check(go.sourceNew(goOptions(options), share ? tabs.shared : undefined));
    const key = go.sourceKey(id);
    // In worker mode a relative URL means the worker's own API proxy
    // (mode mint: "/api/items" goes to https://worker.example/api/items,
    // or with a route https://worker.example/ripple/api/items).
    const base = typeof options?.worker === "string" ? options.worker : undefined;
    let last = ""; // the access token of the last "token" event
    const source = new EventTarget();
    // emit dispatches "token" when the source holds a new token, obtained
    // by this tab or (shared) by another.
    const emit = (token) => {
      if (!token || token.access_token === last) return;
      last = token.access_token;
      const ev = new Event("token");
      ev.token = token;
      source.dispatchEvent(ev);
    };
    Object.assign(source, {
      // A shared source emits what the tabs hand round (tabsShared), where
      // this tab may keep serving an older valid token for a while.
      getToken: (opts) =>
        abortable(opts?.signal, (signal) => go.sourceToken(id, signal)).then((t) => {
          if (!share) emit(t);
          return t;
        }),
      invalidate(token) {
        go.sourceInvalidate(id, typeof token === "string" ? token : token?.access_token);
      },
      async fetch(input, init) {
        if (base && typeof input === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(input)) {
          // The route's base is the worker URL without its last segment
          // (/token): with { worker: "https://w.example/ripple/token" },
          // "/api/items" is https://w.example/ripple/api/items, where
          // new URL("/api/items", base) would drop the route.
          input = new URL(input.startsWith("/") ? "." + input : input, base).href;
        }
        const first = new Request(input, init);
        const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
        for (let attempt = 1; ; attempt++) {
          const token = await source.getToken({ signal });
          const req = attempt === 1 ? first.clone() : first; // the clone keeps the body for a retry
          req.headers.set("Authorization", `${token.token_type} ${token.access_token}`);
          const res = await abortable(signal, () => globalThis.fetch(req));
          if (res.status !== 401 || attempt === 2) return res;
          source.invalidate(token.access_token);
        }
      },
      close() {
        registry?.unregister(source);
        if (share) tabs.leave(key, id);
        go.sourceClose(id);
      },
    });
    if (share) tabs.join(key, id, emit);
    registry?.register(source, { id, key }, source);
    return Object.freeze(source);
  }

  return Object.freeze({
    decodeJWT(token, options) {
      if (typeof token === "string" && !stopped) {
        const v = fastDecode(token, options?.header === true);
        if (v !== undefined) return v;
      }
      const r = go.decodeJWT(token, options?.header === true); // JSON text or an Error
      if (typeof r !== "string") throw new InvalidTokenError(r.message);
      return JSON.parse(r);
    },
    buildTokenRequest: (options) => check(go.buildTokenRequest(goOptions(options))),
    requestToken: (options, opts) => abortable(opts?.signal, (signal) => go.requestToken(goOptions(options), signal)),
    createTokenSource,
    providers: () => go.providers(),
    async [stop]() {
      stopped = true;
      tabs?.close();
      go.exit();
      await exited;
    },
  });
}

// goOptions is options without what only this module reads.
function goOptions(options) {
  if (options === null || typeof options !== "object" || !("shareAcrossTabs" in options)) return options;
  const { shareAcrossTabs, ...rest } = options;
  if (shareAcrossTabs !== undefined && typeof shareAcrossTabs !== "boolean") {
    throw configError("shareAcrossTabs", "must be a boolean");
  }
  return rest;
}

function configError(field, reason) {
  return Object.assign(new Error(`tokenhelper: option "${field}": ${reason}`), {
    name: "TokenHelperError",
    code: "config",
    status: 0,
    field,
  });
}

/** The rejection of an aborted call: name "AbortError", code "aborted". */
function abortError(signal) {
  const err = new Error("tokenhelper: aborted", { cause: signal?.reason });
  err.name = "AbortError";
  err.code = "aborted";
  err.status = 0;
  return err;
}

// abortable calls start(signal) and rejects at once when signal aborts
// (Go, given the same signal, cancels its context: its rejection comes a
// little later and is ignored). In JS because "at once" means before any
// Go code runs, also for a signal aborted before the call.
function abortable(signal, start) {
  if (signal == null) return start(undefined);
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    start(signal)
      .then(resolve, (err) => reject(signal.aborted ? abortError(signal) : err))
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

// Sharing across tabs. The Web Locks API elects the tab that renews and a
// BroadcastChannel hands its token to the others; both are event-loop
// APIs, so this part is JavaScript, and Go's Cache and Coordinator (wasm/
// shared.go) only call it. Everything is in memory: nothing goes to
// localStorage, sessionStorage or IndexedDB. Names and messages are keyed
// by the core's cache key, a hash of the options without the secret and
// the password; a message holds an access token with its type and expiry,
// or a failure's code, status and window: never a refresh token, an ID
// token or a secret.

function canShareTabs() {
  return typeof BroadcastChannel === "function" && typeof globalThis.navigator?.locks?.request === "function";
}

// askTimeout is how long a renewing tab waits for the other tabs'
// answers before it asks the provider (one that is closing never answers).
const askTimeout = 500;

function tabsShared(go) {
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

  return {
    // shared is what Go's tabs type calls (wasm/shared.go).
    shared: {
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
