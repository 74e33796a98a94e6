// worker.mjs: the tokenhelper Worker's entry module. build_worker copies it
// over the worker.mjs that syumai/workers' workers-assets-gen writes, and
// uses that tool's runtime.mjs and wasm_exec.js unchanged.
//
// GO_INSTANCE unset or "long-lived": one Go instance per isolate. It is
// started inside the first request (in workerd Date.now() is 0 at global
// scope and the env is only known there), synchronously, so concurrent
// first requests cannot start two; every request is then served by that
// instance through one direct call of its tokenhelper_serve export
// (worker/cmd/worker/direct.go; see direct and ask below): Go gets the
// request's method, URL and headers, never its body, and hands back
// status, headers and body, or for /api/ a forward plan that forward
// performs here, streaming both bodies. Only an answer that must wait on
// I/O comes later, through binding.answer.
// syumai's binding.handleRequest, whose per-answer streams leak in a
// program that lives on, serves only GO_INSTANCE=per-request. If the Go
// program exits or its wasm traps (a panic outside the handler's recover,
// out of memory), every request in flight on it answers 500 and the next
// request starts a fresh instance.
//
// With a TOKEN_HOLDER binding, the Durable Object class TokenHolder (at
// the end) runs the same program once per object, in mode "object"; each
// Go instance, the isolate's and each object's, has a state of its own
// (newState: its counted calls, holds and waiters).
//
// GO_INSTANCE=per-request keeps syumai's behaviour (a new Go instance for
// every request, exiting after its answer), for the benchmark.
//
// workerd ties every promise, timer and I/O object to the request that
// created it, and cancels what is left of a request once it has answered
// (or its client went away): continuations of a promise created in a
// finished request never run. One Go instance serving many requests breaks
// that model: a goroutine may start a fetch, a Cache API call or a timer
// while Go happens to run inside request A, and wait for it on behalf of
// request B. So this module (1) never shares a JS promise between
// requests (each request waits on a promise of its own), (2) learns of
// the program's end synchronously (go.exit, a throwing _resume) rather
// than from go.run's promise, which belongs to the first request, and
// (3) keeps each waiting request alive with a timer of its own that also
// wakes Go (see serve), and (4) holds each request open with ctx.waitUntil
// until no outbound fetch or Cache API call is pending, so that whatever
// Go started inside that request can finish. See worker/README.md.

import "./wasm_exec.js";
import { createRuntimeContext } from "./runtime.mjs";
import mod from "./app.wasm";
import { JSON_HEADERS, forward, isPlan } from "./forward.mjs";
import { KEEPALIVE_MS, awaitFor, cacheFor, checkIdle, hold, idle, newState, rawFetch, release, track, whenIdle } from "./calls.mjs";

globalThis.tryCatch ??= (fn) => {
  try {
    return { result: fn() };
  } catch (e) {
    return { error: e };
  }
};


// errorResponse is a 500 error answer made here, where Go cannot answer:
// the same {error, error_description} body as Go's respond.Error.
function errorResponse(code, description) {
  return new Response(JSON.stringify({ error: code, error_description: description }) + "\n", {
    status: 500,
    headers: JSON_HEADERS,
  });
}

// failed is the answer of a request whose Go instance died under it (or
// could not start).
function failed() {
  return errorResponse("server_error", "the worker's Go instance stopped; retry the request");
}

// ---- Go instances ------------------------------------------------------------

let generation = 0;

// start instantiates the Go program for st and runs it until it is ready;
// mode ("long-lived", "per-request" or "object") tells main how long to
// live and what to serve; extra is added to the binding (the object's
// storage). The Go main calls workers.Ready before it first waits on
// anything, so all of this is synchronous.
function start(st, env, ctx, mode, extra = {}) {
  const fresh = (mode === "long-lived" && spare) || prepare();
  if (fresh === spare) spare = undefined;
  const { go, instance } = fresh;
  const binding = { ...extra, hold: () => hold(st), release: (id) => release(st, id), await: (p, ok, fail) => awaitFor(st, p, ok, fail) };
  const inst = { id: ++generation, mode, st, go, binding, dead: false, waiters: new Set(), later: new Map() };
  // Go's answers that came after tokenhelper_serve returned (see ask).
  binding.answer = (id, head, body) => inst.later.get(id)?.(answerOf(head, body));
  inst.die = (cause) => {
    if (inst.dead) return;
    inst.dead = true;
    inst.cause = cause;
    for (const w of [...inst.waiters]) w(null);
    queueMicrotask(() => checkIdle(st));
  };
  const exit = go.exit.bind(go);
  go.exit = (code) => {
    inst.die(new Error("the Go program exited with code " + code));
    exit(code);
  };
  const resume = go._resume.bind(go);
  go._resume = () => {
    try {
      resume();
    } catch (e) {
      inst.die(e); // a trap, or "Go program has already exited"
      throw e;
    }
    if (st.idleWaiters.length) queueMicrotask(() => checkIdle(st));
  };
  inst.exports = instance.exports;
  const context = createRuntimeContext({ env, ctx, binding });
  context.instance = mode; // read by worker/cmd/worker
  const globals = { fetch: globalThis.fetch, caches: globalThis.caches };
  globalThis.fetch = (...args) => track(st, rawFetch(...args));
  Object.defineProperty(globalThis, "caches", {
    configurable: true,
    get: () => ({ get default() { return cacheFor(st, globals.caches); }, open: (...a) => track(st, globals.caches.open(...a)) }),
  });
  try {
    go.run(instance, context).catch((e) => inst.die(e));
  } catch (e) {
    inst.die(e);
  } finally {
    globalThis.fetch = globals.fetch;
    Object.defineProperty(globalThis, "caches", { configurable: true, writable: true, value: globals.caches });
  }
  if (!fresh.ready && !inst.dead) inst.die(new Error("the Go program did not signal ready"));
  if (inst.dead) throw inst.cause;
  return inst;
}

// prepare makes a Go object and a wasm instance of the program, not yet
// run. Go's runtime cannot start at global scope (it reads random bytes
// at start-up, which workerd refuses outside a request), but the instance
// can be made there: spare, the one the isolate's first start uses,
// takes that part of the start out of the first request.
function prepare() {
  const go = new Go();
  const fresh = { go, ready: false };
  fresh.instance = new WebAssembly.Instance(mod, { ...go.importObject, workers: { ready: () => (fresh.ready = true) } });
  return fresh;
}

let spare;
try {
  spare = prepare();
} catch {} // made again in the first request, where any error is its answer

// KEEPALIVE_MS is how often a request still waiting on Go wakes up (see
// serve); it looks for an answer Go gave it while running inside another
// request every PICKUP_MIN_MS for PICKUP_FAST_MS (an upstream call on
// loopback or nearby), then ever less often up to PICKUP_MAX_MS (a slow
// provider: timers cost CPU time, which the free plan counts).
const PICKUP_MIN_MS = 1;
const PICKUP_FAST_MS = 50;
const PICKUP_MAX_MS = 32;

// st.running is the request (serve's `me`) on whose behalf its Go
// instance runs right now, set around every call into Go that a request
// makes itself; null when Go runs from a promise callback or another
// request's timer.

// serve hands req to inst and answers 500 if the instance dies first. The
// promise it waits on is its own, resolved by Go or by inst.die from
// whichever request they run in.
//
// A long-lived instance gets the request's method, URL and headers, in
// its own request, and gives back status, headers and body, from which the
// Response is made here too: no stream or Response of one request is
// touched from another (see direct). A per-request instance goes through
// syumai's binding.handleRequest.
//
// While it waits for an answer that comes later, the request keeps a timer of its own: workerd cancels a
// request that waits on nothing it owns ("your Worker's code had hung"),
// which is what a request waiting on a goroutine looks like. Each tick
// also resumes Go, as its own timer would: Go keeps one JS timer for all
// its sleeping goroutines, set in whichever request it last ran in, and
// workerd drops that timer when that request ends.
async function serve(inst, req, internal = false) {
  // The body is not read here: no Go handler needs it but /api/, whose
  // bodies forward streams.
  const input = inst.mode !== "per-request" ? wire(req, internal) : undefined;
  const out = await ask(inst, req, input);
  if (out === null) return failed();
  if (out instanceof Response) return out;
  if (!isPlan(out)) return response(out, req.method);
  // After an upstream 401, Go gives a fresh plan (the provider token
  // renewed) for the same request marked refused; refused names the token
  // the upstream refused (the plan's token_id), so that Go renews only if
  // that token is still the one it holds.
  return forward(req, out, async (refused) => {
    const again = await ask(inst, req, input + "\ntokenhelper-refused:" + (refused || "1"));
    if (again === null) return failed();
    return isPlan(again) ? again : response(again, req.method);
  });
}

// wire is req as Go reads it (worker/internal/wire, one string: each JS
// value Go reads costs it a reference and a finalizer): method, URL,
// whether a body follows, then a "name:value" line per header.
// Tokenhelper-* headers are the Worker's own (a forward plan's, an
// isolate's ask of the TOKEN_HOLDER object): never taken from a request
// from outside (internal: the object's, from an isolate).
function wire(req, internal) {
  let s = req.method + "\n" + req.url + "\n" + (req.body !== null ? "1" : "0");
  for (const [k, v] of req.headers) if (internal || !k.startsWith("tokenhelper-")) s += "\n" + k + ":" + v;
  return s;
}

// answerOf is Go's answer ({status, headers: [[name, value], …], body})
// from its head (the status, then a "name:value" line per header) and body.
function answerOf(head, body) {
  const lines = head.split("\n");
  const headers = [];
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i].indexOf(":");
    headers.push([lines[i].slice(0, c), lines[i].slice(c + 1)]);
  }
  return { status: Number(lines[0]), headers, body };
}

// response makes Go's answer a Response.
function response(out, method) {
  const nullBody = out.status === 204 || out.status === 205 || out.status === 304 || method === "HEAD";
  return new Response(nullBody ? null : out.body, { status: out.status, headers: out.headers });
}

// ask hands input to inst's Go program and waits for its answer ({
// status, headers, body }), or null if the instance dies first.
//
// A long-lived instance answers most requests within one direct call
// (direct). Only a request whose answer must wait (for the provider, the
// Cache API or KV, the TOKEN_HOLDER object, a backoff) gets an id, and
// waits here on a promise of its own for Go to call binding.answer with
// it, from whichever request's event resumed Go.
async function ask(inst, req, input) {
  const me = {}; // this request, as the value of `running` (see settle)
  let id; // of the answer Go gives later
  if (input !== undefined) {
    if (inst.dead) return null;
    let got;
    const prev = inst.st.running;
    inst.st.running = me;
    try {
      got = direct(inst, input);
    } catch (e) {
      inst.die(e);
    } finally {
      inst.st.running = prev;
    }
    if (inst.dead || !got) return null;
    if (typeof got === "object") return got; // answered within the call
    id = got;
  }
  return new Promise((resolve) => {
    let timer, poll, stash, finished = false;
    let wait = PICKUP_MIN_MS;
    const since = Date.now();
    const finish = (res) => {
      finished = true;
      clearTimeout(timer);
      clearTimeout(poll);
      inst.later.delete(id);
      resolve(res);
    };
    // Go may answer this request while it runs inside another one (a
    // goroutine woken by a fetch that request made), and the continuation
    // of a promise runs in the context of whoever resolved it: the
    // Response made from the answer would then belong to that other
    // request, and workerd refuses to send it ("Cannot perform I/O on
    // behalf of a different request", I/O type ReadableStreamSource). So
    // an answer that arrives while this request is not the one running Go
    // is kept, and picked up by this request's own timer.
    const settle = (res) => {
      if (!inst.waiters.delete(settle)) return;
      if (inst.st.running === me) finish(res);
      else stash = { res };
    };
    const pick = () => {
      if (stash) return finish(stash.res);
      if (Date.now() - since > PICKUP_FAST_MS) wait = Math.min(2 * wait, PICKUP_MAX_MS);
      poll = setTimeout(pick, wait);
    };
    const tick = () => {
      timer = setTimeout(tick, KEEPALIVE_MS);
      resumeAs(inst, me);
    };
    inst.waiters.add(settle);
    if (inst.dead) return finish(null);
    if (id !== undefined) {
      inst.later.set(id, settle);
      // What the handler started within the direct call may already have
      // settled, or Go may have goroutines left to run: resume it once.
      resumeAs(inst, me);
    } else {
      const prev = inst.st.running;
      inst.st.running = me;
      try {
        inst.binding.handleRequest(req).then(finish, () => finish(null)); // one request per instance
      } catch (e) {
        inst.die(e);
      } finally {
        inst.st.running = prev;
      }
    }
    if (!finished) {
      timer = setTimeout(tick, KEEPALIVE_MS);
      poll = setTimeout(pick, wait);
    }
  });
}

// resumeAs runs Go's pending goroutines on behalf of the request me.
function resumeAs(inst, me) {
  if (inst.dead) return;
  const prev = inst.st.running;
  inst.st.running = me;
  try {
    inst.go._resume();
  } catch {} // inst.die has run
  inst.st.running = prev;
}

const utf8in = new TextEncoder();
const utf8out = new TextDecoder();

// direct serves the request input (wire, above) with one call of the
// instance's tokenhelper_serve export (worker/cmd/worker/direct.go): the
// request's bytes written into Go's buffer, the answer read from it. It
// returns the answer, or the id under which Go will give it later
// (binding.answer), or 0 when Go gave none.
function direct(inst, input) {
  const x = inst.exports;
  const max = 3 * input.length; // UTF-8 bytes at most
  const at = x.tokenhelper_buf(max);
  const { written } = utf8in.encodeInto(input, new Uint8Array(x.mem.buffer, at, max));
  const n = x.tokenhelper_serve(written);
  if (inst.dead || n <= 0) return -n;
  const m = new Uint8Array(x.mem.buffer, x.tokenhelper_buf(0), n); // the buffer may have moved
  const head = m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24);
  return answerOf(utf8out.decode(m.subarray(4, 4 + head)), m.slice(4 + head));
}

// isolate is the state of this isolate's long-lived instance.
const isolate = newState();

function fetch(req, env, ctx) {
  const mode = env.GO_INSTANCE || "long-lived";
  if (mode === "per-request") {
    // syumai/workers' own way: a fresh program that exits after its answer.
    let inst;
    try {
      inst = start(newState(), env, ctx, "per-request");
    } catch (e) {
      return failed();
    }
    return serve(inst, req);
  }
  if (mode !== "long-lived") {
    return errorResponse("misconfigured", 'GO_INSTANCE must be "long-lived" or "per-request"');
  }
  if (!isolate.current || isolate.current.dead) {
    try {
      isolate.current = start(isolate, env, ctx, "long-lived");
    } catch (e) {
      isolate.current = undefined;
      return failed();
    }
  }
  const inst = isolate.current;
  const answer = serve(inst, req); // its direct call into Go is made by now
  // Registered now, not after the answer: a client that goes away cancels
  // the request, and what Go started inside it, unless waitUntil holds it.
  // Not needed when Go answered within the call and nothing of Go's is
  // pending: the common case, a held token.
  if (!idle(isolate) || inst.later.size > 0) ctx.waitUntil(answer.then(() => whenIdle(isolate)));
  return answer;
}

// TokenHolder is the optional TOKEN_HOLDER Durable Object (see
// worker/README.md): one object per route's cache key, the one place that
// obtains that route's provider token, for every isolate that asks. The
// class is glue: it runs the same Go program in an instance of its own
// (mode "object", started inside its first request, restarted if it
// stops), which serves worker.Holder with the object's storage; isolates
// reach it only through the binding's stub (no public route leads here).
// All requests to one object share its I/O context, so the cross-request
// hazards of the isolate's instance do not arise, but its state is its
// own: another object (or the isolate's instance) may run in the same
// isolate.
export class TokenHolder {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.state = newState();
  }

  fetch(req) {
    const st = this.state;
    if (!st.current || st.current.dead) {
      try {
        st.current = start(st, this.env, this.ctx, "object", { storage: this.ctx.storage });
      } catch (e) {
        st.current = undefined;
        return failed();
      }
    }
    const answer = serve(st.current, req, true); // only isolates reach the object: no public route
    // A renewal the holder runs in the background outlives this ask.
    this.ctx.waitUntil?.(answer.then(() => whenIdle(st)));
    return answer;
  }
}

export default { fetch };
