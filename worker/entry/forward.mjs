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
// plan.replay bytes kept for the one retry after a 401, for which Go gives
// a new plan), the upstream's answer streamed back with Go's headers. It
// makes no decision of its own: what to send, what to drop and every
// error answer come from the plan. A JavaScript exception here is an error
// answer for this request, never the instance's end.
export async function forward(req, out, replan) {
  const goHeaders = out.headers.filter(([k]) => !["tokenhelper-plan", "content-type", "content-length", "cache-control"].includes(k.toLowerCase()));
  const answer = (a) => {
    const headers = new Headers(JSON_HEADERS);
    for (const [k, v] of goHeaders) headers.set(k, v);
    return new Response(a.body, { status: a.status, headers });
  };
  let plan = JSON.parse(utf8.decode(out.body));
  try {
    let body = req.body;
    let kept = null;
    const declared = Number(req.headers.get("content-length") ?? NaN);
    if (body !== null && declared <= plan.replay) {
      kept = new Uint8Array(await req.arrayBuffer());
      body = kept;
    } else if (body !== null) {
      body = body.pipeThrough(limit(plan.max_body));
    }
    for (;;) {
      let res;
      const deadline = until(req, plan.timeout_ms);
      try {
        res = await rawFetch(plan.url, {
          method: plan.method,
          headers: plan.headers,
          body: req.method === "GET" || req.method === "HEAD" ? null : body,
          redirect: "manual",
          signal: deadline.signal,
        });
      } catch (e) {
        if (e?.name === "TooLarge") return answer(plan.too_large);
        return answer(e?.name === "TimeoutError" ? plan.timeout : plan.unavailable);
      } finally {
        deadline.answered();
      }
      if (res.status === 401 && kept !== null && plan.replay > 0) {
        res.body?.cancel();
        const again = await replan();
        if (again instanceof Response) return again;
        plan = JSON.parse(utf8.decode(again.body));
        body = kept;
        continue;
      }
      const headers = new Headers();
      for (const [k, v] of res.headers) {
        if (!plan.drop.includes(k) && !plan.drop_prefix.some((p) => k.startsWith(p))) headers.append(k, v);
      }
      for (const [k, v] of Object.entries(plan.default)) if (!headers.has(k)) headers.set(k, v);
      for (const [k, v] of goHeaders) headers.set(k, v);
      return new Response(res.body, { status: res.status, headers });
    }
  } catch (e) {
    return answer(e?.name === "TooLarge" ? plan.too_large : plan.unavailable);
  }
}

// limit passes at most max bytes, then errors the stream (name TooLarge).
function limit(max) {
  let n = 0;
  return new TransformStream({
    transform(chunk, ctl) {
      n += chunk.byteLength;
      if (n > max) ctl.error(Object.assign(new Error("the request body is too large"), { name: "TooLarge" }));
      else ctl.enqueue(chunk);
    },
  });
}


// until is the signal of a forward: the plan's timeout, which bounds the
// wait for the upstream's answer, not its body (a long download is not
// cut off: answered() stops the clock once the headers are in), and the
// client's going away where workerd gives the request a signal (the
// enable_request_signal compatibility flag in wrangler.jsonc): until the
// upstream answers, which is when an upload has been sent (bare workerd
// signals no client gone before the answer has begun: the timeout ends
// that wait, e2e/worker/attack_memory_test.go). workerd also
// stops streaming an answer whose client has gone without it (bare
// workerd, e2e/worker/bare_test.go).
//
// answered() also detaches from the request's signal: tying req.signal to
// each forward for the rest of its life (AbortSignal.any, or a listener
// left on it) kept far more of every call alive in workerd: 20,000 calls
// at /api took its RSS from 104 to about 300 MB, against about 215 MB
// with the listener removed once answered (bench/cmd/memtokens; issue 19,
// item 7).
function until(req, ms) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException("the upstream did not answer in time", "TimeoutError")), ms);
  const gone = () => ctl.abort(req.signal.reason);
  if (req.signal?.aborted) gone();
  else req.signal?.addEventListener("abort", gone);
  return {
    signal: ctl.signal,
    answered: () => {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", gone);
    },
  };
}
