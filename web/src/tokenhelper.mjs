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
import { canShareTabs, credentialName, tabsShared } from "./tabs.mjs";
import { apiNonce, assertionSigner, dpopProof, dpopThumbprint, rememberAPINonce } from "./crypto.mjs";

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
      ? new FinalizationRegistry(({ id, name }) => {
          if (stopped) return;
          name?.then((n) => tabs?.leave(n, id), () => {});
          go.sourceClose(id);
        })
      : null;

  function createTokenSource(options) {
    const share = options?.shareAcrossTabs !== false && tabs !== null;
    // A shared source's tokens go round under its credentialName: the
    // core's key, known once Go made the source, and a fingerprint of the
    // credentials, computed with WebCrypto after it.
    let named;
    const name = share ? new Promise((resolve) => (named = resolve)) : null;
    const { opts, ready } = prepare(options);
    const id = check(go.sourceNew(opts, share ? tabs.view(name) : undefined));
    // With dpop the key's thumbprint goes in the name too (Go's cache key
    // names the origin's key only as "webcrypto": see wasm/dpop.go).
    if (share) named(credentialName(go.sourceKey(id), options).then(async (n) => (options.dpop ? `${n}~${await dpopThumbprint()}` : n)));
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
        abortable(opts?.signal, async (signal) => (await ready, go.sourceToken(id, signal))).then((t) => {
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
        // send sends req with token; a DPoP-bound token (RFC 9449 7.1) goes
        // with a fresh proof by the origin's key carrying the API's last
        // nonce, which any answer but a 401 may renew (RFC 9449 9), as
        // nethttp.BearerTransport does.
        // The nonce the last proof carried is kept in carried; an answer
        // that came through a redirect is another server's (res.url), whose
        // nonce is not kept.
        let carried;
        const send = async (req, token) => {
          req.headers.set("Authorization", `${token.token_type} ${token.access_token}`);
          const bound = /^dpop$/i.test(token.token_type);
          carried = bound ? apiNonce(req.url) : undefined;
          if (bound) req.headers.set("DPoP", await dpopProof(req.method, req.url, token.access_token, carried));
          const res = await abortable(signal, () => globalThis.fetch(req));
          if (bound && res.status !== 401 && !res.redirected) rememberAPINonce(req.url, res.headers.get("DPoP-Nonce"), carried);
          return res;
        };
        const token = await source.getToken({ signal });
        let res = await send(first.clone(), token); // the clone keeps the body for a retry
        if (res.status === 401 && !res.redirected && nonceWanted(res, token, first.url, carried)) {
          // The API wants its nonce in the proof: once more, same token.
          res.body?.cancel();
          res = await send(first.clone(), token);
        }
        if (res.status !== 401) return res;
        // One retry with a renewed token. The core forces at most one
        // renewal a minute (InvalidateFloor): when it kept the refused
        // token, the API's own 401 is the answer.
        source.invalidate(token.access_token);
        const fresh = await source.getToken({ signal });
        if (fresh.access_token === token.access_token) return res;
        res.body?.cancel();
        return send(first, fresh);
      },
      close() {
        registry?.unregister(source);
        name?.then((n) => tabs.leave(n, id), () => {});
        go.sourceClose(id);
      },
    });
    name?.then((n) => tabs.join(n, id, emit), () => {});
    registry?.register(source, { id, name }, source);
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
    buildTokenRequest: (options) => check(go.buildTokenRequest(prepare(options, true).opts)),
    requestToken(options, opts) {
      const { opts: o, ready } = prepare(options);
      return abortable(opts?.signal, async (signal) => (await ready, go.requestToken(o, signal)));
    },
    async clientAssertion(options) {
      const { opts: o, ready } = prepare(options);
      await ready;
      return go.clientAssertion(o);
    },
    discover: (issuer) => go.discover(issuer),
    createTokenSource,
    providers: () => go.providers(),
    dpopProof: (method, url, accessToken, nonce) => dpopProof(method, url, accessToken, nonce),
    async [stop]() {
      stopped = true;
      tabs?.close();
      go.exit();
      await exited;
    },
  });
}

// prepare returns { opts, ready }: opts, what Go reads, is options
// without what only this module reads; with { dpop: true } it hands Go
// the function that makes the proofs of the token requests, to the
// Worker or to a custom provider's token endpoint (dpopProof, made with
// WebCrypto here); with authStyle private_key_jwt
// or client_secret_jwt the function that signs client assertions
// (assertionSigner), whose key import ready awaits (preview: a
// buildTokenRequest, which shows the request unsigned, imports nothing).
function prepare(options, preview = false) {
  const ready = Promise.resolve();
  if (options === null || typeof options !== "object") return { opts: options, ready };
  const assertion = options.authStyle === "private_key_jwt" || options.authStyle === "client_secret_jwt";
  const { clientAssertionKey, clientAssertionKid, ...kept } = options;
  if (!assertion) {
    if (clientAssertionKey !== undefined) throw configError("clientAssertionKey", 'only goes with authStyle "private_key_jwt"');
    if (clientAssertionKid !== undefined) throw configError("clientAssertionKid", 'only goes with authStyle "private_key_jwt"');
    return { opts: goOptions(options), ready };
  }
  if (options.authStyle === "private_key_jwt" && (typeof clientAssertionKey !== "string" || clientAssertionKey === "")) {
    throw configError("clientAssertionKey", "required by private_key_jwt: a PEM private key");
  }
  if (clientAssertionKid !== undefined && typeof clientAssertionKid !== "string") {
    throw configError("clientAssertionKid", "must be a string");
  }
  if (!globalThis.crypto?.subtle) throw configError("authStyle", `${options.authStyle} needs WebCrypto (a secure context)`);
  const opts = goOptions(kept);
  if (preview) {
    opts.assertionSigner = () => Promise.reject(new Error("tokenhelper: not signed in a preview"));
    return { opts, ready };
  }
  const signer = assertionSigner(options);
  opts.assertionSigner = signer.sign;
  return { opts, ready: signer.ready };
}

// goOptions is options without shareAcrossTabs and dpop (see prepare).
function goOptions(options) {
  if (!("shareAcrossTabs" in options || "dpop" in options)) return { ...options };
  const { shareAcrossTabs, dpop, ...rest } = options;
  if (shareAcrossTabs !== undefined && typeof shareAcrossTabs !== "boolean") {
    throw configError("shareAcrossTabs", "must be a boolean");
  }
  if (dpop !== undefined && typeof dpop !== "boolean") throw configError("dpop", "must be a boolean");
  if (dpop) {
    if (!globalThis.crypto?.subtle) throw configError("dpop", "needs WebCrypto (a secure context)");
    rest.dpopProof = dpopProof;
  }
  return rest;
}

// nonceWanted reports whether res, a 401 to url sent with the bound
// token, asks for a proof with the API's nonce (WWW-Authenticate: DPoP
// error="use_dpop_nonce", RFC 9449 9) that the refused proof did not
// carry (carried), remembering that nonce. Cross-origin, the API must
// expose WWW-Authenticate and DPoP-Nonce (Access-Control-Expose-Headers).
function nonceWanted(res, token, url, carried) {
  if (!/^dpop$/i.test(token.token_type)) return false;
  const asked = /(^|,)\s*DPoP\s[^]*use_dpop_nonce/i.test(res.headers.get("WWW-Authenticate") ?? "");
  return asked && rememberAPINonce(url, res.headers.get("DPoP-Nonce"), carried);
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
