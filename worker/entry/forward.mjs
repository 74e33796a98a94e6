// forward.mjs: the /api/ forwards of the tokenhelper Worker's entry module
// (worker.mjs). Go decides (worker/apiproxy, Plan), this moves the bytes.

import { rawFetch } from "./calls.mjs"; // the platform's fetch: forwards are this request's own, not Go's

// JSON_HEADERS are the headers of an answer made here rather than by Go.
export const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};


const utf8 = new TextDecoder();

// isPlan reports whether Go's answer is a forward plan.
export function isPlan(out) {
  return out.headers.some(([k]) => k.toLowerCase() === "tokenhelper-plan");
}

// forward performs a forward plan of Go's (out, Go's answer to req) in this
// request's own context: the request body streamed to the upstream (up to
// plan.replay bytes kept for the one retry after a 401), the upstream's
// answer streamed back with the headers the plan lets through. It makes no
// decision of its own: what to send, what to pass back and every error
// answer come from the plan. A JavaScript exception here is an error
// answer for this request, never the instance's end.
//
// After an upstream 401, replan(plan.token_id) asks Go again, naming the
// token refused (see worker/apiproxy ServePlan): a new plan is retried
// once when the body can be sent again (none, or kept); {pass: true}
// means the core kept the refused token (its renewal floor), and the
// upstream's 401 is the answer, as it is when the body was streamed (Go
// is asked all the same, so that later calls get a renewed token). The
// 401's body is left unread until then, since it may be the answer.
export async function forward(req, out, replan) {
  const goHeaders = out.headers.filter(([k]) => !["tokenhelper-plan", "content-type", "content-length", "cache-control"].includes(k.toLowerCase()));
  const answer = (a) => {
    const headers = new Headers(JSON_HEADERS);
    for (const [k, v] of goHeaders) headers.set(k, v);
    return new Response(a.body, { status: a.status, headers });
  };
  let plan = JSON.parse(utf8.decode(out.body));
  // cut ends the upstream fetch when the streamed body goes wrong (over
  // max_body, or the client's body broke off): workerd ends a fetch whose
  // body stream errors as if the body were complete (a clean last chunk),
  // so the error alone would let the upstream take a cut-off body for the
  // whole one. Aborting the fetch resets its connection instead.
  const cut = new AbortController();
  try {
    let body = req.body;
    let kept = null;
    let progress = () => {}; // the current attempt's deadline.progress
    const declared = Number(req.headers.get("content-length") ?? NaN);
    if (body !== null && declared <= plan.replay) {
      kept = new Uint8Array(await req.arrayBuffer());
      body = kept;
    } else if (body !== null) {
      body = limited(body, plan.max_body, cut, () => progress());
    }
    const replayable = body === null || kept !== null;
    for (;;) {
      let res;
      const deadline = until(req, plan.timeout_ms, cut.signal);
      progress = deadline.progress;
      try {
        res = await rawFetch(plan.url, {
          method: plan.method,
          headers: plan.headers,
          body: req.method === "GET" || req.method === "HEAD" ? null : body,
          redirect: "manual",
          signal: deadline.signal,
        });
      } catch (e) {
        if (cut.signal.aborted) return answer(cut.signal.reason?.name === "TooLarge" ? plan.too_large : plan.unavailable);
        return answer(e?.name === "TimeoutError" ? plan.timeout : plan.unavailable);
      } finally {
        deadline.answered();
      }
      if (res.status === 401 && plan.replay > 0) {
        const again = await replan(plan.token_id);
        if (replayable) {
          if (again instanceof Response) {
            res.body?.cancel();
            return again;
          }
          const next = JSON.parse(utf8.decode(again.body));
          if (next.pass !== true) {
            res.body?.cancel();
            plan = next;
            body = kept;
            continue;
          }
        }
      }
      return new Response(res.body, { status: res.status, headers: passed(res, plan, goHeaders) });
    }
  } catch (e) {
    return answer(e?.name === "TooLarge" ? plan.too_large : plan.unavailable);
  }
}

// passed is the headers of the upstream's answer res that the plan lets
// through (worker/apiproxy headers.go, whose rules these mirror): its
// allowlist, Cache-Control capped at private, Location rebased onto the
// Worker or dropped, then Go's own (CORS; Vary added to the upstream's).
function passed(res, plan, goHeaders) {
  const headers = new Headers();
  for (const k of plan.response_headers) {
    const v = res.headers.get(k);
    if (v !== null) headers.set(k, v);
  }
  headers.set("cache-control", capCache(res.headers.get("cache-control"), plan));
  const loc = res.headers.get("location");
  if (loc !== null) {
    const v = rebase(loc, plan);
    if (v !== "") headers.set("location", v);
  }
  for (const [k, v] of goHeaders) {
    if (k.toLowerCase() === "vary") headers.append(k, v);
    else headers.set(k, v);
  }
  return headers;
}

// capCache is capCacheControl of worker/apiproxy/headers.go.
function capCache(v, plan) {
  if (v === null) return plan.cache_none;
  const out = ["private"];
  const add = (d) => out.includes(d) || out.push(d);
  for (const raw of v.split(",")) {
    const d = raw.trim().toLowerCase();
    const eq = d.indexOf("=");
    const name = (eq < 0 ? d : d.slice(0, eq)).trim();
    const arg = eq < 0 ? null : d.slice(eq + 1).trim();
    if (name === "no-store") return "no-store";
    if (name === "no-cache") add("no-cache");
    else if (name === "max-age" && arg !== null && /^[0-9]{1,10}$/.test(arg)) add("max-age=" + arg);
    else if (arg === null && plan.cache_keep.includes(name)) add(name);
  }
  return out.join(", ");
}

// rebase is rebaseLocation of worker/apiproxy/headers.go.
function rebase(loc, plan) {
  const rb = plan.location;
  let u, from;
  try {
    u = new URL(loc, plan.url);
    from = new URL(rb.from);
  } catch {
    return "";
  }
  if (!rb.to || (u.protocol !== "https:" && u.protocol !== "http:")) return "";
  if (u.origin !== from.origin) return u.href;
  if (!u.pathname.startsWith(from.pathname)) return "";
  // The rest is checked again by the Worker when the browser follows it.
  return rb.to + u.pathname.slice(from.pathname.length) + u.search;
}

// limited passes at most max bytes of body; beyond them, or when body
// itself errors (the client's upload broke off), it aborts cut, which ends
// the upstream fetch (see forward), and errors (name TooLarge for the
// limit). progress is called for each chunk passed on.
function limited(body, max, cut, progress) {
  const reader = body.getReader();
  let n = 0;
  return new ReadableStream({
    async pull(ctl) {
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        cut.abort(e);
        ctl.error(e);
        return;
      }
      if (r.done) return ctl.close();
      n += r.value.byteLength;
      if (n > max) {
        const e = Object.assign(new Error("the request body is too large"), { name: "TooLarge" });
        cut.abort(e);
        ctl.error(e);
        reader.cancel(e).catch(() => {});
        return;
      }
      progress();
      ctl.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

// until is the signal of a forward: the plan's timeout, which bounds the
// wait for the upstream's answer, not its body (a long download is not
// cut off: answered() stops the clock once the headers are in), counted
// from the last chunk of a streamed upload (progress() starts the clock
// again: an upload that moves is not cut off either, however long it
// takes; one that stalls for the timeout is), and the
// client's going away where workerd gives the request a signal (the
// enable_request_signal compatibility flag in wrangler.jsonc): until the
// upstream answers, which is when an upload has been sent (bare workerd
// signals no client gone before the answer has begun: the timeout ends
// that wait, e2e/worker/attack_memory_test.go). workerd also stops
// streaming an answer whose client has gone without it (bare workerd,
// e2e/worker/bare_test.go). cut (see forward) ends the fetch too,
// whenever it aborts, an upload included.
//
// answered() also detaches from the request's signal: tying req.signal to
// each forward for the rest of its life (AbortSignal.any, or a listener
// left on it) kept far more of every call alive in workerd: 20,000 calls
// at /api took its RSS from 104 to about 300 MB, against about 215 MB
// with the listener removed once answered (bench/cmd/memtokens; issue 19,
// item 7).
function until(req, ms, cut) {
  const ctl = new AbortController();
  const expire = () => ctl.abort(new DOMException("the upstream did not answer in time", "TimeoutError"));
  let timer = setTimeout(expire, ms);
  let done = false;
  const gone = () => ctl.abort(req.signal.reason);
  if (req.signal?.aborted) gone();
  else req.signal?.addEventListener("abort", gone);
  if (cut.aborted) ctl.abort(cut.reason);
  else cut.addEventListener("abort", () => ctl.abort(cut.reason), { once: true });
  return {
    signal: ctl.signal,
    progress: () => {
      if (done || ctl.signal.aborted) return;
      clearTimeout(timer);
      timer = setTimeout(expire, ms);
    },
    answered: () => {
      done = true;
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", gone);
    },
  };
}
