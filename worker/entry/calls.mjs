// calls.mjs: the per-instance state of the tokenhelper Worker's entry
// module (worker.mjs) and the outbound calls of Go it counts: the fetch and
// Cache API calls Go makes, the holds it takes around a renewal, and the
// promises it awaits. worker.mjs keeps requests open until these settle
// (see (3) and (4) in its header).

// KEEPALIVE_MS is how often a request still waiting on Go (or on Go's
// calls, whenIdle) wakes up and resumes Go.
export const KEEPALIVE_MS = 250;

// ---- per-instance state -----------------------------------------------------

// A Go instance's state: its counted calls and holds, its waiters, the
// request on whose behalf it runs, the instance itself. The isolate's
// long-lived instance has one (isolate, below); each TOKEN_HOLDER object
// has its own, since workerd refuses I/O on behalf of another object and
// one isolate may run the worker and several objects at once.
export function newState() {
  return {
    pending: new Map(), // call id -> Date.now() at its start
    callID: 0,
    idleWaiters: [],
    current: undefined, // the Go instance, or undefined
    running: null, // see serve
    countedCache: undefined,
  };
}

// ---- outbound calls, counted (see (4) in worker.mjs) ---------------------------------

// A call still pending after HOLD_MAX_MS no longer holds requests open
// (workerd may have canceled it with its request, and then it never
// settles); the core's worst case is 3 attempts of 8 s plus backoff.
const HOLD_MAX_MS = 30_000;

// idle reports whether no counted call or hold of st is pending.
export function idle(st) {
  const now = Date.now();
  for (const [id, t] of st.pending) if (now - t > HOLD_MAX_MS) st.pending.delete(id);
  return st.pending.size === 0;
}

export function checkIdle(st) {
  if (st.idleWaiters.length === 0 || !idle(st)) return;
  const ws = st.idleWaiters;
  st.idleWaiters = [];
  for (const w of ws) w();
}

// whenIdle is a promise, created in the calling request, fulfilled once
// no counted call or hold of st is pending. While it waits it resumes Go
// every KEEPALIVE_MS, as serve does: a renewal that sleeps between
// attempts (Go's one JS timer may belong to a request that has ended)
// still wakes.
export function whenIdle(st) {
  if (idle(st)) return Promise.resolve();
  return new Promise((resolve) => {
    let timer;
    const tick = () => {
      timer = setTimeout(tick, KEEPALIVE_MS);
      if (st.current && !st.current.dead) {
        try {
          st.current.go._resume();
        } catch {} // inst.die has run
      }
      checkIdle(st);
    };
    timer = setTimeout(tick, KEEPALIVE_MS);
    st.idleWaiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// hold and release bracket work of Go's that must outlive the request it
// started in, such as a token renewal in the background (its retries,
// sleeps, Cache API and KV calls, or its ask of the TOKEN_HOLDER object):
// while one is held, every request that ends keeps its context alive
// through ctx.waitUntil (see fetch), so that whatever the renewal waits
// on can settle. Go calls them through the binding (worker/cmd/worker,
// holdCoordinator).
export function hold(st) {
  const id = ++st.callID;
  st.pending.set(id, Date.now());
  return id;
}

export function release(st, id) {
  st.pending.delete(id);
  queueMicrotask(() => checkIdle(st));
}

export function track(st, p) {
  const id = ++st.callID;
  st.pending.set(id, Date.now());
  const done = () => {
    st.pending.delete(id);
    queueMicrotask(() => checkIdle(st)); // after Go has run its continuation
  };
  p.then(done, done);
  return p;
}

// Go reads globalThis.fetch and caches.default at its start: give it
// counted ones, counted in its own state. Nothing but Go's calls go
// through these.
export const rawFetch = globalThis.fetch;
export function cacheFor(st, raw) {
  const c = raw.default;
  if (st.countedCache?.raw === c) return st.countedCache.wrapped;
  const wrapped = {
    match: (...a) => track(st, c.match(...a)),
    put: (...a) => track(st, c.put(...a)),
    delete: (...a) => track(st, c.delete(...a)),
  };
  st.countedCache = { raw: c, wrapped };
  return wrapped;
}

// awaitFor is how Go waits for a promise (internal/jsbridge, Await): it
// runs Go's continuation (ok or fail) with st.running set to the request
// Go was running for when it made the call. The promise was made in that
// request's context, so its continuation runs there too, and an answer Go
// gives that request within it can be sent at once instead of waiting for
// the request's pick-up timer (see ask in worker.mjs); answers for other requests are
// still kept for their own timers.
export function awaitFor(st, p, ok, fail) {
  const who = st.running;
  const within = (f, v) => {
    const prev = st.running;
    st.running = who;
    try {
      f(v);
    } catch {
      // the Go program has ended: inst.die has run
    } finally {
      st.running = prev;
    }
  };
  Promise.resolve(p).then((v) => within(ok, v), (e) => within(fail, e));
}

