// routes.mjs: the page's route picker in worker mode (see app.mjs). A
// tokenhelper Worker with ROUTES lists its routes, names and modes only,
// at GET <base>/routes to the origins it allows; choosing one fills in the
// worker token URL <base>/<route>/token, from which the module also finds
// the route's /api/. A worker without ROUTES answers 404 there: it serves
// one route, at <base>/token. It also reads the route status
// (<base>/status, <base>/<route>/status) with the STATUS_TOKEN the user
// types in, which is sent in that request alone and kept nowhere. Loaded
// when worker mode is first chosen.

const $ = (id) => document.getElementById(id);

// The worker's rule for route names (worker/routes.go): nothing else is
// put in a URL.
const ROUTE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

// workerBase is the base URL of a worker from what the user typed, its
// own base or one of its token URLs (…/token, …/<route>/token); "" when
// it is not an http(s) URL.
export function workerBase(text) {
  let u;
  try {
    u = new URL(text.trim());
  } catch {
    return "";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "";
  const path = u.pathname.replace(/\/+$/, "").replace(/(\/[a-z][a-z0-9-]{0,31})?\/token$/, "");
  return u.origin + path;
}

// fetchRoutes asks the worker at base for its routes: [{ name, mode }],
// or null when it has none (404: one route, at /token). Failures throw an
// Error with the worker's error code (or "network", "bad_response").
export async function fetchRoutes(base, signal) {
  let res;
  try {
    res = await fetch(`${base}/routes`, { credentials: "omit", headers: { Accept: "application/json" }, signal });
  } catch (err) {
    throw Object.assign(new Error(`${base}/routes could not be reached`), { code: err.name === "TimeoutError" ? "timeout" : "network" });
  }
  const body = await res.json().catch(() => null);
  if (res.status === 404) return null;
  if (!res.ok) {
    throw Object.assign(new Error(body?.error_description || `HTTP ${res.status}`), { code: body?.error || "bad_response", status: res.status });
  }
  if (!Array.isArray(body?.routes)) throw Object.assign(new Error("the answer lists no routes"), { code: "bad_response" });
  return body.routes
    .filter((r) => typeof r?.name === "string" && ROUTE_NAME.test(r.name))
    .map((r) => ({ name: r.name, mode: typeof r.mode === "string" ? r.mode : "" }));
}

// MODES say in the picker what each mode hands out.
const MODES = {
  mint: "mint: a token the worker signs, and its /api/",
  pass: "pass: the provider's token",
  misconfigured: "misconfigured: fix its settings",
};

let asked = ""; // the base last listed, to list it once
let pending = null; // the AbortController of the listing under way

// listRoutes lists the routes of the worker typed in #worker-base into
// #worker-route, choosing the one #worker-url already names; onPick(url)
// fills in the token URL. again lists a base listed before once more.
export async function listRoutes(onPick, again = false) {
  const base = workerBase($("worker-base").value);
  const status = $("routes-status");
  const picker = $("worker-route");
  if (!base) {
    status.textContent = $("worker-base").value.trim() ? "The worker base URL must be an http(s) URL, such as https://tokens.example.workers.dev." : "";
    $("route-field").hidden = true;
    return;
  }
  if (base === asked && !again) return;
  asked = base;
  pending?.abort();
  const ac = (pending = new AbortController());
  const signal = AbortSignal.any([ac.signal, AbortSignal.timeout(10000)]);
  status.textContent = `Asking ${base}/routes…`;
  let routes;
  try {
    routes = await fetchRoutes(base, signal);
  } catch (err) {
    if (ac.signal.aborted) return;
    asked = "";
    $("route-field").hidden = true;
    status.textContent =
      err.code === "origin_not_allowed"
        ? `The worker does not list its routes to this page: add ${location.origin} to its ALLOWED_ORIGINS.`
        : err.code === "network" || err.code === "timeout"
          ? `${base}/routes could not be reached, or the worker refused this page's origin (CORS). Check the base URL and the worker's ALLOWED_ORIGINS.`
          : `The worker could not list its routes: ${err.code}: ${err.message}.`;
    return;
  }
  if (ac.signal.aborted) return;
  if (routes === null) {
    $("route-field").hidden = true;
    status.textContent = `This worker has no routes: it serves one, at ${base}/token.`;
    if (!$("worker-url").value.trim()) onPick(`${base}/token`);
    return;
  }
  const url = $("worker-url").value.trim();
  const options = routes.map((r) => {
    const o = new Option(`${r.name} (${MODES[r.mode] ?? r.mode})`, r.name);
    o.disabled = r.mode === "misconfigured";
    return o;
  });
  picker.replaceChildren(new Option("Choose a route", ""), ...options);
  const named = routes.find((r) => url === `${base}/${r.name}/token`);
  picker.value = named?.name ?? "";
  picker.dataset.base = base;
  $("route-field").hidden = false;
  status.textContent = routes.length
    ? `${routes.length === 1 ? "1 route" : `${routes.length} routes`}: ${routes.map((r) => r.name).join(", ")}. Choose one to fill in the token URL.`
    : "This worker lists no routes.";
}

// pick fills in the token URL of the route chosen in #worker-route.
export function pick(onPick) {
  const picker = $("worker-route");
  if (picker.value) onPick(`${picker.dataset.base}/${picker.value}/token`);
}

// statusURL is the route status's URL: <base>/<route>/status for the
// route chosen in the picker, else <base>/status; "" without a base.
export function statusURL() {
  const base = workerBase($("worker-base").value) || workerBase($("worker-url").value);
  if (!base) return "";
  const picker = $("worker-route");
  const route = !$("route-field").hidden && picker.dataset.base === base && ROUTE_NAME.test(picker.value) ? picker.value : "";
  return route ? `${base}/${route}/status` : `${base}/status`;
}

// readStatus fetches the route status with the token typed in
// #status-token (Authorization: Bearer, no cookie) and shows it as JSON
// text in #route-status-json, or says why not in #route-status-msg.
export async function readStatus() {
  const msg = $("route-status-msg");
  const out = $("route-status-json");
  const url = statusURL();
  const token = $("status-token").value.trim();
  out.hidden = true;
  out.textContent = "";
  if (!url) {
    msg.textContent = "Give the worker base URL or its token URL first.";
    return;
  }
  if (!token) {
    msg.textContent = "Type in the worker's STATUS_TOKEN first.";
    return;
  }
  msg.textContent = `Asking ${url}…`;
  let res;
  try {
    res = await fetch(url, {
      credentials: "omit",
      cache: "no-store",
      headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10000),
    });
  } catch {
    msg.textContent = `${url} could not be reached, or the worker refused this page's origin (CORS). Check the URL and the worker's ALLOWED_ORIGINS.`;
    return;
  }
  const body = await res.json().catch(() => null);
  if (res.ok && body) {
    msg.textContent = `The route status at ${url}, as the isolate that answered sees it:`;
    out.textContent = JSON.stringify(body, null, 2);
    out.hidden = false;
  } else if (res.status === 401) {
    msg.textContent = "The worker refused this status token (401): it is not the worker's STATUS_TOKEN (or, for a route, its <ROUTE>_STATUS_TOKEN).";
  } else if (res.status === 404) {
    msg.textContent = `No route status at ${url} (404): the worker has no STATUS_TOKEN set (npx wrangler secret put STATUS_TOKEN), or no such route.`;
  } else {
    msg.textContent = `The worker could not show its status: HTTP ${res.status}${body?.error ? `: ${body.error}` : ""}${body?.error_description ? `: ${body.error_description}` : ""}.`;
  }
}
