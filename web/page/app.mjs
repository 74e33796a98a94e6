// app.mjs: the tokenhelper page. It reads the form into tokenhelper.mjs
// options, shows the request the core would send (secrets masked), gets
// the token and shows it decoded. Nothing here stores, logs or renders a
// secret: the preview and the curl come from the core already masked, and
// errors from the core never hold one. The inputs are not named, so even a
// form submission without this script would put nothing in the URL.
import { load } from "./tokenhelper.mjs";

const $ = (id) => document.getElementById(id);
const started = performance.now();

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

const GRANT_LABELS = {
  client_credentials: "client_credentials (client id + secret)",
  password: "password (username + password)",
  refresh_token: "refresh_token",
};

// What to do next, by error code (RFC 6749 5.2 codes and the module's own).
const HINTS = {
  invalid_client: "The provider did not accept the client ID and secret. Check both for typos and stray spaces, and that this client is enabled for this provider and grant type.",
  invalid_grant: "The username and password, or the refresh token, were refused. Check them; a refresh token can usually be used only once.",
  unauthorized_client: "This client may not use this grant type. Choose another grant type, or ask the provider to enable it.",
  unsupported_grant_type: "The endpoint does not support this grant type. Choose another one.",
  invalid_scope: "The scope was refused. Leave it empty to use the provider's default, or check the provider's documentation.",
  invalid_request: "The endpoint refused the request's format. Check the provider, the token URL and (for a custom endpoint) the body encoding and client authentication; the audience may be missing or wrong.",
  temporarily_unavailable: "The provider is overloaded or rate limiting. Wait a little and try again.",
  server_error: "The provider failed on its side (the request was tried 3 times). Try again later.",
  network: "The token URL could not be reached, or the browser refused to let this page read the answer. Check the URL and that you are online. If curl (above) works but this page does not, the endpoint does not allow cross-origin (CORS) requests from pages: use the curl command, or a tokenhelper Worker, which calls the provider from a server.",
  timeout: "The endpoint did not answer within 30 seconds. Check the token URL, or try again later.",
  bad_response: "The answer was not a token response (for example an HTML login or error page, or a proxy's answer). Check the token URL and the provider.",
  config: "Fix the field named in the message; nothing was sent.",
  origin_not_allowed: "The worker does not accept requests from this page's origin: add it to the worker's ALLOWED_ORIGINS.",
};

const form = $("form");
const fields = ["provider", "token-url", "encoding", "auth-style", "grant", "client-id", "client-secret", "username", "password", "refresh-token", "scope", "audience", "worker-url"];
let th;
let providers = [];
let demoBase = "";
let countdown = 0;
let lastToken = "";

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

// options reads the form into tokenhelper.mjs options; empty fields are
// left out so that the profile's defaults apply.
function options() {
  if (workerMode()) return { worker: $("worker-url").value.trim() };
  const p = currentProvider();
  const o = {
    provider: p.id,
    tokenURL: $("token-url").value.trim(),
    grantType: $("grant").value,
    clientId: $("client-id").value.trim(),
    clientSecret: $("client-secret").value,
    scope: $("scope").value.trim(),
    audience: $("audience").value.trim(),
  };
  if (p.id === "custom") {
    o.encoding = $("encoding").value;
    o.authStyle = $("auth-style").value;
  }
  if (o.grantType === "password") {
    o.username = $("username").value.trim();
    o.password = $("password").value;
  }
  if (o.grantType === "refresh_token") o.refreshToken = $("refresh-token").value.trim();
  for (const k of Object.keys(o)) if (o[k] === "") delete o[k];
  return o;
}

function onProviderChange() {
  const p = currentProvider();
  $("token-url").value = demoBase ? demoBase + DEMO_PATHS[p.id] : "";
  $("token-url").placeholder = p.tokenURL || "https://auth.example.com/oauth/token";
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
  const custom = currentProvider()?.id === "custom";
  for (const el of document.querySelectorAll("[data-custom]")) el.hidden = !custom;
  for (const el of document.querySelectorAll("[data-grant]")) el.hidden = el.dataset.grant !== $("grant").value;
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

// fieldLabels names the core's configuration fields as the form does.
const fieldLabels = {
  ClientID: "Client ID", ClientSecret: "Client secret", Username: "Username", Password: "Password",
  TokenURL: "Token URL", Audience: "Audience", RefreshToken: "Refresh token",
};

function renderPreview() {
  if (!th) return;
  let req;
  try {
    req = th.buildTokenRequest(options());
  } catch (err) {
    // A field still empty is a hint, not an error; anything else is wrong.
    const missing = err.code === "config" && /^required/.test(err.description ?? "");
    $("preview-error").hidden = false;
    $("preview-error").className = missing ? "hint" : "error-text";
    $("preview-error").textContent = missing
      ? `Still needed before anything is sent: ${fieldLabels[err.field] ?? err.field}.`
      : `Not ready to send: ${err.message}`;
    $("preview-body").hidden = true;
    return;
  }
  $("preview-error").hidden = true;
  $("preview-body").hidden = false;
  $("preview-method").textContent = req.method;
  $("preview-url").textContent = req.url;
  const headers = Object.entries(req.redacted.headers).sort(([a], [b]) => a.localeCompare(b));
  $("preview-headers").tBodies[0].replaceChildren(...headers.map(([k, v]) => row(k, v)));
  $("preview-fields").tBodies[0].replaceChildren(...req.fields.map((f) => row(f.name, f.value)));
  $("preview-fields").hidden = req.fields.length === 0;
  $("curl").textContent = req.curl;
}

function duration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const parts = [];
  if (s >= 86400) parts.push(`${Math.floor(s / 86400)} d`);
  if (s >= 3600) parts.push(`${Math.floor((s % 86400) / 3600)} h`);
  if (s >= 60) parts.push(`${Math.floor((s % 3600) / 60)} min`);
  parts.push(`${s % 60} s`);
  return parts.join(" ");
}

function date(ms) {
  const d = new Date(ms);
  return `${d.toLocaleString()} (${d.toISOString()})`;
}

function tick(expiresAt) {
  const left = expiresAt - Date.now();
  $("countdown").textContent = left > 0 ? `expires in ${duration(left)}` : `expired ${duration(left)} ago`;
}

function renderToken(tok) {
  lastToken = tok.access_token;
  $("access-token").textContent = tok.access_token;
  $("token-kind").textContent = `${tok.token_type} token, ${tok.access_token.length} characters`;
  $("expires-in").textContent = tok.expires_in ? `${tok.expires_in} s (${duration(tok.expires_in * 1000)})` : "not sent by the provider";
  $("token-scope").textContent = tok.scope || "—";
  clearInterval(countdown);
  if (tok.expires_at) {
    $("expires-at").textContent = date(tok.expires_at);
    tick(tok.expires_at);
    countdown = setInterval(() => tick(tok.expires_at), 1000);
  } else {
    $("expires-at").textContent = "unknown";
    $("countdown").textContent = "no expiry known";
  }
  let header = null;
  let claims = null;
  try {
    header = th.decodeJWT(tok.access_token, { header: true });
    claims = th.decodeJWT(tok.access_token);
    $("decode-note").textContent = "";
  } catch (err) {
    $("decode-note").textContent = `The access token is not a JWT (${err.message}): it is opaque, only the provider can read it.`;
  }
  $("jwt-header").textContent = header ? JSON.stringify(header, null, 2) : "—";
  $("jwt-claims").textContent = claims ? JSON.stringify(claims, null, 2) : "—";
  const iat = claims && typeof claims.iat === "number" ? claims.iat * 1000 : tok.obtained_at;
  $("issued-at").textContent = iat ? date(iat) : "—";
  if (claims && typeof claims.exp === "number" && !tok.expires_at) $("expires-at").textContent = date(claims.exp * 1000);
  $("result").hidden = false;
  $("result").scrollIntoView?.({ block: "nearest" });
}

function renderError(err) {
  const code = err?.code || "error";
  $("error-code").textContent = code;
  $("error-status").textContent = err?.status ? `HTTP ${err.status}` : "no HTTP answer";
  $("error-message").textContent = err?.message || String(err);
  let hint = HINTS[code] ?? (err?.status >= 500 ? HINTS.server_error : "Check the provider, the token URL and the credentials.");
  if (err?.status === 429) hint = HINTS.temporarily_unavailable;
  if (err?.retryAfter) hint += ` The provider asked to wait ${err.retryAfter} s.`;
  if (code === "network" && workerMode()) hint = "The worker could not be reached, or it refused this page's origin (CORS). Check the worker URL and its ALLOWED_ORIGINS.";
  $("error-hint").textContent = hint;
  $("error").hidden = false;
  $("error").scrollIntoView?.({ block: "nearest" });
  if (code === "config" && err.field) {
    const id = { ClientID: "client-id", ClientSecret: "client-secret", Username: "username", Password: "password", TokenURL: "token-url", Audience: "audience", RefreshToken: "refresh-token" }[err.field];
    if (id) $(id).focus();
  }
}

async function submit(ev) {
  ev.preventDefault();
  const button = $("get-token");
  button.disabled = true;
  button.textContent = "Getting a token…";
  $("error").hidden = true;
  $("result").hidden = true;
  try {
    renderToken(await th.requestToken(options()));
  } catch (err) {
    renderError(err);
  } finally {
    button.disabled = false;
    button.textContent = "Get token";
  }
}

// copy puts text on the clipboard; where the browser refuses, it selects
// the element showing it, for the user to copy.
async function copy(text, shownIn, button) {
  const label = button.dataset.label ?? (button.dataset.label = button.textContent);
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    getSelection()?.selectAllChildren(shownIn);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => (button.textContent = label), 2000);
}

async function main() {
  $("status").textContent = "Loading the WebAssembly module…";
  try {
    th = await load();
  } catch (err) {
    $("status").textContent = `Could not load the WebAssembly module: ${err.message}. Reload the page; if it persists, check that tokenhelper.wasm is served as application/wasm.`;
    $("status").className = "error-text";
    return;
  }
  performance.mark("tokenhelper-loaded"); // read by ./build.sh bench
  const ms = Math.round(performance.now() - started);
  $("status").textContent = `Ready: WebAssembly loaded in ${ms} ms.`;
  document.documentElement.dataset.ready = "true";
  providers = th.providers();
  $("provider").replaceChildren(...providers.map((p) => new Option(p.name, p.id)));
  demoBase = fromFragment("demo")?.origin ?? "";
  const worker = fromFragment("worker");
  if (worker) $("worker-url").value = worker.href;
  if (demoBase) {
    $("demo-banner").hidden = false;
    $("demo-banner").textContent = `Demo mode: token URLs point at the demo provider at ${demoBase}. Its credentials are printed by ./build.sh dev.`;
  }
  for (const id of fields) {
    $(id).addEventListener("input", update);
    $(id).addEventListener("change", update);
  }
  $("provider").addEventListener("change", onProviderChange);
  $("mode-credentials").addEventListener("change", update);
  $("mode-worker").addEventListener("change", update);
  $("copy-curl").addEventListener("click", (e) => copy($("curl").textContent, $("curl"), e.currentTarget));
  $("copy-token").addEventListener("click", (e) => copy(lastToken, $("access-token"), e.currentTarget));
  form.addEventListener("submit", submit);
  onProviderChange();
  $("get-token").disabled = false;
  $("get-token").textContent = "Get token";
}

main();
