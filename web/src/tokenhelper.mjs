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
    return wrap(await Promise.race([ready, early]), exited);
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
function wrap(go, exited) {
  const check = (r) => {
    if (r instanceof Error) throw r;
    return r;
  };
  let stopped = false; // after unload(), the Go functions are released
  const registry =
    typeof FinalizationRegistry === "function"
      ? new FinalizationRegistry((id) => stopped || go.sourceClose(id))
      : null;

  function createTokenSource(options) {
    const id = check(go.sourceNew(options));
    // In worker mode a relative URL means the worker's own API proxy
    // (mode mint: "/api/items" goes to https://worker.example/api/items).
    const base = typeof options?.worker === "string" ? options.worker : undefined;
    const source = {
      getToken: () => go.sourceToken(id),
      invalidate(token) {
        go.sourceInvalidate(id, typeof token === "string" ? token : token?.access_token);
      },
      async fetch(input, init) {
        if (base && typeof input === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(input)) {
          input = new URL(input, base).href;
        }
        const first = new Request(input, init);
        for (let attempt = 1; ; attempt++) {
          const token = await source.getToken();
          const req = attempt === 1 ? first.clone() : first; // the clone keeps the body for a retry
          req.headers.set("Authorization", `${token.token_type} ${token.access_token}`);
          const res = await globalThis.fetch(req);
          if (res.status !== 401 || attempt === 2) return res;
          source.invalidate(token.access_token);
        }
      },
      close() {
        registry?.unregister(source);
        go.sourceClose(id);
      },
    };
    registry?.register(source, id, source);
    return Object.freeze(source);
  }

  return Object.freeze({
    decodeJWT(token, options) {
      const r = go.decodeJWT(token, options?.header === true); // JSON text or an Error
      if (typeof r !== "string") throw new InvalidTokenError(r.message);
      return JSON.parse(r);
    },
    buildTokenRequest: (options) => check(go.buildTokenRequest(options)),
    requestToken: (options) => go.requestToken(options),
    createTokenSource,
    providers: () => go.providers(),
    async [stop]() {
      stopped = true;
      go.exit();
      await exited;
    },
  });
}
