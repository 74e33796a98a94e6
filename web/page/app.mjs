// app.mjs: the tokenhelper page. It reads the form into tokenhelper.mjs
// options, shows the request the core would send (secrets masked), gets
// the tokens and hands them to answer.mjs, which shows each one decoded.
// At start only what load() and the form need runs: wasm.mjs compiles the
// WebAssembly while the modules load, the answer pane's modules are
// fetched once the module is ready.
// Nothing here stores, logs or renders a secret: the preview and the curl
// come from the core already masked, and errors from the core never hold
// one. The inputs are not named, so even a form submission without this
// script would put nothing in the URL. Worker mode's route picker
// (routes.mjs) is loaded when that mode is first chosen; the custom
// provider's own fields, discovery and the decoded details (client
// assertions, DPoP proofs) are custom.mjs's.
import { load } from "./tokenhelper.mjs";
import { compiled } from "./wasm.mjs";
import { explain } from "./hints.mjs";
import { customOptions, discover, forSending, pendingDiscovery, showDetails } from "./custom.mjs";

const $ = (id) => document.getElementById(id);

// Token endpoint paths of the demo provider (internal/demoprovider, Path),
// used when the page is opened as …#demo=http://127.0.0.1:8788.
const DEMO_PATHS = {
  "alphaus-ripple": "/alphaus-ripple/ripple/access_token",
  "alphaus-wave": "/alphaus-wave/access_token",
  aluma: "/aluma/oauth/token",
  alluvial: "/alluvial/oauth/token",
  "alluvial-staging": "/alluvial-staging/oauth/token",
  custom: "/custom/token",
};

// The demo provider's fixed public credentials (internal/demoprovider,
// DefaultClientID and the others), shown and filled in in demo mode only.
const DEMO_CREDENTIALS = {
  "client-id": "demo-client",
  "client-secret": "demo-secret-do-not-use-in-production",
  username: "demo-user",
  password: "demo-password",
};

const GRANT_LABELS = {
  client_credentials: "client_credentials",
  password: "password (a user's)",
  refresh_token: "refresh_token",
};

const form = $("form");
const inputs = ["provider", "token-url", "encoding", "auth-style", "grant", "client-id", "client-secret", "username", "password", "refresh-token", "scope", "audience", "resource", "worker-url",
  "issuer", "client-assertion-key", "client-assertion-kid", "custom-dpop", "worker-dpop"];
let th;
let providers = [];
let demoBase = "";
let firstMissing = null; // the input to fill in first, for Enter with a field missing

// FIELDS names the core's configuration fields (the field of a config
// error) as the form does, with the input and the option behind each and a
// stand-in value that lets buildTokenRequest look past a missing one.
const FIELDS = {
  TokenURL: { id: "token-url", label: "Token URL", opt: "tokenURL", stand: "https://example.invalid/token" },
  ClientID: { id: "client-id", label: "Client ID", opt: "clientId", stand: "x" },
  ClientSecret: { id: "client-secret", label: "Client secret", opt: "clientSecret", stand: "x" },
  Username: { id: "username", label: "Username", opt: "username", stand: "x" },
  Password: { id: "password", label: "Password", opt: "password", stand: "x" },
  RefreshToken: { id: "refresh-token", label: "Refresh token", opt: "refreshToken", stand: "x" },
  Scope: { id: "scope", label: "Scope", opt: "scope" },
  Audience: { id: "audience", label: "Audience", opt: "audience", stand: "https://example.invalid" },
  Resource: { id: "resource", label: "Resource", opt: "resource" },
  GrantType: { id: "grant", label: "Grant type", opt: "grantType" },
  Encoding: { id: "encoding", label: "Body encoding", opt: "encoding" },
  AuthStyle: { id: "auth-style", label: "Client authentication", opt: "authStyle" },
  worker: { id: "worker-url", label: "Worker token URL", opt: "worker", stand: "https://example.invalid/token" },
  Issuer: { id: "issuer", label: "Issuer", opt: "issuer" },
  clientAssertionKey: { id: "client-assertion-key", label: "Private key", opt: "clientAssertionKey", stand: "x" },
  clientAssertionKid: { id: "client-assertion-kid", label: "Key ID", opt: "clientAssertionKid" },
  DPoP: { id: "custom-dpop", label: "DPoP", opt: "dpop" },
};
FIELDS.issuer = FIELDS.Issuer;
FIELDS.tokenURL = FIELDS.TokenURL;
FIELDS.authStyle = FIELDS.AuthStyle;
FIELDS.URL = FIELDS.worker;

// reason is a configuration error's reason without the module's prefix
// and the Go field name: "required", "http is only allowed for …".
function reason(err) {
  return err.description || String(err.message ?? err).replace(/^tokenhelper: (option "[^"]*": |invalid configuration: (\w+: )?)?/, "");
}

// configMessage is a configuration error in the form's words.
function configMessage(err) {
  const label = FIELDS[err.field]?.label ?? err.field ?? "A setting";
  return `${label}: ${reason(err)}.`;
}

// fromFragment reads an http(s) URL from the fragment (#demo=…&worker=…),
// as printed by ./build.sh dev. The fragment never reaches a server.
function fromFragment(name) {
  const m = new RegExp(`(?:^#|&)${name}=([^&]+)`).exec(location.hash);
  if (!m) return null;
  try {
    const u = new URL(decodeURIComponent(m[1]));
    return u.protocol === "http:" || u.protocol === "https:" ? u : null;
  } catch {
    return null;
  }
}

function workerMode() {
  return $("mode-worker").checked;
}

function currentProvider() {
  return providers.find((p) => p.id === $("provider").value) ?? providers[0];
}

// uses says whether the provider takes a scope, an audience or RFC 8707
// resource indicators (custom providers only) from the form.
function uses(p, what) {
  if (p.id === "custom") return true;
  if (what === "resource") return false;
  return what === "scope" ? Boolean(p.scope) : Boolean(p.audience || p.needsAudience);
}

// options reads the form into tokenhelper.mjs options; empty fields and
// fields the provider does not use are left out, so that the profile's
// defaults apply.
function options() {
  if (workerMode()) {
    const o = { worker: $("worker-url").value.trim() };
    if ($("worker-dpop").checked) o.dpop = true;
    return o;
  }
  const p = currentProvider();
  const o = {
    provider: p.id,
    tokenURL: $("token-url").value.trim() || demoTokenURL(p),
    grantType: $("grant").value,
    clientId: $("client-id").value.trim(),
    clientSecret: $("client-secret").value,
  };
  if (uses(p, "scope")) o.scope = $("scope").value.trim();
  if (uses(p, "audience")) o.audience = $("audience").value.trim();
  if (uses(p, "resource") && $("resource").value.trim()) o.resource = $("resource").value.trim();
  if (p.id === "custom") customOptions(o);
  if (o.grantType === "password") {
    o.username = $("username").value.trim();
    o.password = $("password").value;
  }
  if (o.grantType === "refresh_token") o.refreshToken = $("refresh-token").value.trim();
  for (const k of Object.keys(o)) if (o[k] === "") delete o[k];
  return o;
}

// check asks the core whether the options can be sent: the request, or
// every missing field (looking past each with a stand-in value) and the
// first other problem.
function check(o) {
  const missing = [];
  for (let i = 0; i < 10; i++) {
    try {
      const req = th.buildTokenRequest(o);
      return { req: missing.length ? null : req, missing, problem: null };
    } catch (err) {
      const f = FIELDS[err.field];
      const empty = f && !o[f.opt];
      const isMissing = err.code === "config" && empty && (/^required/.test(reason(err)) || f === FIELDS.worker);
      if (!isMissing || !f.stand || missing.includes(f)) return { req: null, missing, problem: err };
      missing.push(f);
      o = { ...o, [f.opt]: f.stand };
    }
  }
  return { req: null, missing, problem: null };
}

// demoTokenURL is the demo provider's token URL for provider p in demo
// mode, else "": in demo mode an emptied Token URL stays the demo
// provider's, so that the demo credentials never go to the real provider.
function demoTokenURL(p) {
  return demoBase && DEMO_PATHS[p.id] ? demoBase + DEMO_PATHS[p.id] : "";
}

function onProviderChange() {
  const p = currentProvider();
  $("token-url").value = demoTokenURL(p);
  $("token-url").placeholder = demoTokenURL(p) || p.tokenURL || "https://auth.example.com/oauth/token";
  $("provider-notes").textContent = [p.encoding && `Sends ${p.encoding}.`, p.notes].filter(Boolean).join(" ");
  $("scope").placeholder = p.scope ? `default: ${p.scope}` : "";
  $("audience").placeholder = p.audience ? `default: ${p.audience}` : p.needsAudience ? "required" : "";
  const grant = $("grant");
  const keep = grant.value;
  grant.replaceChildren(...p.grants.map((g) => new Option(GRANT_LABELS[g] ?? g, g)));
  if (p.grants.includes(keep)) grant.value = keep;
  update();
}

function update() {
  const worker = workerMode();
  $("credentials-fields").hidden = worker;
  $("worker-fields").hidden = !worker;
  const p = currentProvider();
  for (const el of document.querySelectorAll("[data-custom]")) el.hidden = p?.id !== "custom";
  const auth = p?.id === "custom" ? $("auth-style").value : "body";
  for (const el of document.querySelectorAll("[data-auth]")) el.hidden = el.dataset.auth !== auth;
  $("client-secret-field").hidden = auth === "private_key_jwt";
  for (const el of document.querySelectorAll("[data-grant]")) el.hidden = el.dataset.grant !== $("grant").value;
  for (const el of document.querySelectorAll("[data-uses]")) el.hidden = !p || !uses(p, el.dataset.uses);
  // The demo box: the demo credentials in provider mode; in worker mode the
  // worker holds them and the page sends none.
  for (const id of ["demo-credentials", "demo-values", "fill-demo"]) $(id).hidden = worker;
  $("demo-worker").hidden = !worker;
  renderPreview();
}

function row(name, value) {
  const tr = document.createElement("tr");
  for (const text of [name, value]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

// listing joins labels as a sentence does: "A", "A and B", "A, B and C".
function listing(words) {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

let pane = null; // the Promise of answer.mjs, wired

// answerPane is answer.mjs, the answer pane: imported (and its buttons
// wired) once, when the module is ready or first needed.
function answerPane() {
  pane ??= import("./answer.mjs").then((m) => {
    m.wire();
    return m;
  });
  return pane;
}

// renderPreview shows the request, or what keeps it from being sent, once,
// and says the same on the button, which stays disabled until it can send.
function renderPreview() {
  if (!th) return;
  const button = $("get-token");
  const o = options();
  discover(th, o.issuer, !workerMode() && currentProvider()?.id === "custom", renderPreview);
  if (pendingDiscovery(o)) {
    firstMissing = "issuer";
    return;
  }
  const { req, missing, problem } = check(o);
  const note = $("preview-error");
  firstMissing = null;
  if (!req) {
    const labels = missing.map((f) => f.label);
    const text = [];
    if (labels.length) text.push(`Still needed before anything is sent: ${listing(labels)}.`);
    if (problem) text.push(configMessage(problem));
    note.hidden = false;
    note.className = problem ? "error-text" : "hint";
    if (note.textContent !== text.join(" ")) note.textContent = text.join(" ");
    $("preview-body").hidden = true;
    button.disabled = true;
    button.textContent = labels.length ? `Fill in ${listing(labels)}` : `Fix the ${FIELDS[problem?.field]?.label ?? "settings"}`;
    firstMissing = missing[0]?.id ?? FIELDS[problem?.field]?.id ?? null;
    return;
  }
  note.hidden = true;
  note.textContent = "";
  $("preview-body").hidden = false;
  button.disabled = false;
  button.textContent = "Get token";
  $("preview-method").textContent = req.method;
  $("preview-url").textContent = req.url;
  const headers = Object.entries(req.redacted.headers).sort(([a], [b]) => a.localeCompare(b));
  $("preview-headers").tBodies[0].replaceChildren(...headers.map(([k, v]) => row(k, v)));
  $("preview-fields").tBodies[0].replaceChildren(...req.fields.map((f) => row(f.name, f.value)));
  $("preview-fields").hidden = req.fields.length === 0;
  $("curl").textContent = req.curl;
}

async function renderError(err, elapsed, url) {
  const code = err?.code || "error";
  const { message, hint } = await explain(err, code, url, workerMode());
  $("error-code").textContent = code;
  $("error-status").textContent = err?.status ? `HTTP ${err.status}` : "no HTTP answer";
  $("error-elapsed").textContent = elapsed === undefined ? "" : `after ${Math.round(elapsed)} ms`;
  // The code and status are shown above: the provider's own words, else the module's message.
  $("error-message").textContent = message ?? (code === "config" ? configMessage(err) : err?.description || err?.message || String(err));
  $("error-hint").textContent = hint;
  $("empty").hidden = true;
  $("error").hidden = false;
  const field = code === "config" && FIELDS[err.field];
  if (field) $(field.id).focus();
  else $("error").focus({ preventScroll: true });
  $("error").scrollIntoView?.({ block: "start" });
}

async function submit(ev) {
  ev.preventDefault();
  const button = $("get-token");
  if (button.disabled) return;
  const o = options();
  const source = workerMode() ? "worker" : o.provider;
  const url = check(o).req?.url;
  button.disabled = true;
  button.textContent = "Getting a token…";
  $("status").textContent = "";
  const answer = await answerPane();
  answer.hideAnswer();
  const t0 = performance.now();
  try {
    const tok = await th.requestToken(forSending(o));
    const p = providers.find((q) => q.id === source);
    const from = source === "worker" ? "The worker" : (p?.name ?? "The provider");
    answer.showToken(th, tok, { elapsed: performance.now() - t0, source, from, refreshable: Boolean(p?.grants.includes("refresh_token")) });
  } catch (err) {
    await renderError(err, performance.now() - t0, url);
  } finally {
    renderPreview();
  }
  await showDetails(th, o);
}

// useRefresh fills in the refresh_token grant with the refresh token shown.
async function useRefresh() {
  const { token, source: provider } = (await answerPane()).current();
  $("mode-credentials").checked = true;
  if ($("provider").value !== provider) {
    $("provider").value = provider;
    onProviderChange();
  }
  $("grant").value = "refresh_token";
  $("refresh-token").value = token.refresh_token;
  update();
  $("status").textContent = "The refresh token is filled in: press Get token to use it.";
  $("get-token").focus();
  $("get-token").scrollIntoView?.({ block: "center" });
}

function showDemo() {
  $("demo-banner").hidden = false;
  $("demo-base").textContent = demoBase;
  for (const [id, value] of Object.entries(DEMO_CREDENTIALS)) $(`demo-${id}`).textContent = value;
  $("fill-demo").addEventListener("click", () => {
    for (const [id, value] of Object.entries(DEMO_CREDENTIALS)) $(id).value = value;
    update();
    $("status").textContent = "The demo credentials are filled in.";
  });
}

// fillWorkerURL sets the worker token URL, as the route picker chose it.
function fillWorkerURL(url) {
  $("worker-url").value = url;
  update();
}

let routes = null; // the Promise of routes.mjs, once needed

// routePicker is routes.mjs, the worker mode's route picker, imported when
// worker mode is first chosen or the route fields first used.
function routePicker() {
  routes ??= import("./routes.mjs");
  return routes;
}

// wireRoutes attaches the route fields: the routes are listed when the
// user asks (Enter, a change of the base URL, List routes), not before.
function wireRoutes() {
  const list = (again) => routePicker().then((m) => m.listRoutes(fillWorkerURL, again));
  $("worker-base").addEventListener("change", () => list(false));
  $("worker-base").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault(); // Enter lists the routes; it does not submit
    e.stopPropagation();
    list(true);
  });
  $("list-routes").addEventListener("click", () => list(true));
  $("worker-route").addEventListener("change", () => routePicker().then((m) => m.pick(fillWorkerURL)));
  // The route status: read when asked, the status token never kept.
  const status = () => routePicker().then((m) => m.readStatus());
  $("read-status").addEventListener("click", status);
  $("status-token").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault(); // Enter reads the status; it does not submit
    e.stopPropagation();
    status();
  });
  // Worker mode: the base URL of a worker URL already given (from the fragment).
  $("mode-worker").addEventListener("change", () =>
    routePicker().then((m) => {
      if (!$("worker-base").value.trim() && $("worker-url").value.trim()) $("worker-base").value = m.workerBase($("worker-url").value);
    }),
  );
}

async function main() {
  $("status").textContent = "Loading the WebAssembly module…";
  try {
    th = await load({ wasm: await compiled });
  } catch (err) {
    $("status").textContent = `Could not load the WebAssembly module: ${err.message}. Reload the page; if it persists, check that tokenhelper.wasm is served as application/wasm.`;
    $("status").className = "error-text";
    return;
  }
  // What the user waited for: from the navigation (performance.now()'s
  // origin) to a page that can send, the WebAssembly module included.
  const loaded = performance.mark("tokenhelper-loaded"); // read by ./build.sh bench
  $("status").textContent = `Ready ${Math.round(loaded.startTime)} ms after the page was opened (WebAssembly included).`;
  providers = th.providers();
  $("provider").replaceChildren(...providers.map((p) => new Option(p.name, p.id)));
  demoBase = fromFragment("demo")?.origin ?? "";
  const worker = fromFragment("worker");
  if (worker) $("worker-url").value = worker.href;
  if (demoBase) showDemo();
  for (const id of inputs) {
    $(id).addEventListener("input", update);
    $(id).addEventListener("change", update);
  }
  $("provider").addEventListener("change", onProviderChange);
  $("mode-credentials").addEventListener("change", update);
  $("mode-worker").addEventListener("change", update);
  wireRoutes();
  answerPane();
  $("copy-curl").addEventListener("click", (e) => {
    const button = e.currentTarget;
    answerPane().then((m) => m.copy($("curl").textContent, $("curl"), button));
  });
  $("use-refresh").addEventListener("click", useRefresh);
  form.addEventListener("submit", submit);
  // Enter while a field is missing: the disabled button would swallow it;
  // move to the field to fill in instead.
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target instanceof HTMLInputElement && $("get-token").disabled && firstMissing) {
      e.preventDefault();
      $(firstMissing).focus();
    }
  });
  onProviderChange();
  document.documentElement.dataset.ready = "true";
}

main();
