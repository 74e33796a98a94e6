// answer.mjs: the page's answer pane (see app.mjs): every token returned,
// each JWT in its card (jwtview.mjs), the lifetime with a live countdown,
// the refresh token and the raw answer masked until revealed, and the
// copy buttons. It holds the token shown; nothing here stores or logs it.
import { card, date, duration, masked, renderJWT } from "./jwtview.mjs";

const $ = (id) => document.getElementById(id);

let shown = null; // { token, source, from }: the token shown, who issued it
let countdown = 0;

// current is the token shown, with its source (a provider id or "worker"),
// or null.
export function current() {
  return shown;
}

// copy puts text on the clipboard; where the browser refuses, it selects
// the element showing it, for the user to copy.
export async function copy(text, shownIn, button) {
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

function copyJWT(kind, button) {
  const text = kind === "id" ? shown.token.id_token : shown.token.access_token;
  copy(text, $(`${kind}-token`), button);
}

function tick(tok, expiry) {
  const left = expiry - Date.now();
  const lifetime = expiry - tok.obtained_at;
  const share = lifetime > 0 ? Math.min(1, Math.max(0, left / lifetime)) : 0;
  const pct = Math.round(share * 100);
  $("countdown").textContent = left > 0 ? `expires in ${duration(left)} (${pct} % of its lifetime left)` : `expired ${duration(left)} ago`;
  $("lifetime").value = share;
  $("lifetime").textContent = `${pct} %`;
}

// hideTokens replaces, anywhere in an answer's members, the token values
// by their masked form.
function hideTokens(value, tokens) {
  if (typeof value === "string") return tokens.some((t) => value.includes(t)) ? masked(value) : value;
  if (Array.isArray(value)) return value.map((v) => hideTokens(v, tokens));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hideTokens(v, tokens)]));
  return value;
}

// renderRaw shows the answer's members as received (the module's raw),
// every token masked unless revealed.
function renderRaw() {
  const tok = shown.token;
  const reveal = $("reveal-raw").getAttribute("aria-pressed") === "true";
  const tokens = [tok.access_token, tok.id_token, tok.refresh_token].filter(Boolean);
  const raw = tok.raw ?? { access_token: tok.access_token, token_type: tok.token_type, expires_in: tok.expires_in };
  $("raw-json").textContent = JSON.stringify(reveal ? raw : hideTokens(raw, tokens), null, 2);
  $("reveal-raw").textContent = reveal ? "Hide tokens" : "Reveal tokens";
}

function renderRefresh() {
  const rt = shown.token.refresh_token;
  const reveal = $("reveal-refresh").getAttribute("aria-pressed") === "true";
  $("refresh-shown").textContent = reveal ? rt : masked(rt);
  $("refresh-shown").classList.toggle("masked", !reveal);
  $("reveal-refresh").textContent = reveal ? "Hide" : "Reveal";
}

function toggle(button, render) {
  button.setAttribute("aria-pressed", String(button.getAttribute("aria-pressed") !== "true"));
  render();
}

// scopeOf is the scope the response sent, else the one in the claims.
function scopeOf(tok, claims) {
  if (tok.scope) return `${tok.scope} (from the response)`;
  const c = claims?.scope ?? claims?.scp;
  if (typeof c === "string" && c) return `${c} (from the access token's claims)`;
  if (Array.isArray(c) && c.length) return `${c.join(" ")} (from the access token's claims)`;
  return "none sent";
}

// EXP_SLACK is how far a JWT's exp claim may lie from the expiry the
// module computed (the time the request was sent plus expires_in) and
// still be the same instant: expires_in counts whole seconds, rounded
// down by servers that compute it from exp (a token minted at 12:00:00.6
// with exp 12:05:00 says 299), and the request took some time.
const EXP_SLACK = 2000;

// expiryOf is when the token expires, to show: the access token's exp
// claim when it agrees with the module's expires_at (the token's own
// word, to the second), else expires_at with a note on the difference
// (the provider's clock and this one differ).
function expiryOf(tok, claims) {
  const exp = typeof claims?.exp === "number" ? claims.exp * 1000 : 0;
  if (!exp) return { expiry: tok.expires_at, note: "" };
  const off = Math.round((exp - tok.expires_at) / 1000);
  if (Math.abs(exp - tok.expires_at) <= EXP_SLACK) return { expiry: exp, note: "" };
  return { expiry: tok.expires_at, note: `; its exp claim says ${Math.abs(off)} s ${off > 0 ? "later" : "earlier"}: the provider's clock and this one differ` };
}

// showToken shows a token (th is the loaded module): from names who
// answered, refreshable says whether its provider takes the refresh_token
// grant, which the page then offers.
export function showToken(th, tok, { elapsed, source, from, refreshable }) {
  shown = { token: tok, source };
  for (const b of ["reveal-raw", "reveal-refresh"]) $(b).setAttribute("aria-pressed", "false");
  card("access", copyJWT).hidden = false;
  const access = renderJWT(th, "access", tok.access_token);
  card("id", copyJWT).hidden = !tok.id_token;
  if (tok.id_token) renderJWT(th, "id", tok.id_token);
  $("card-refresh").hidden = !tok.refresh_token;
  if (tok.refresh_token) {
    renderRefresh();
    $("refresh-kind").textContent = `${tok.refresh_token.length} characters`;
    $("use-refresh").hidden = !refreshable;
  }
  renderRaw();
  const names = [["access", tok.access_token], ["ID", tok.id_token], ["refresh", tok.refresh_token]].filter(([, v]) => v).map(([n]) => n);
  $("result-summary").textContent = `${from} answered in ${Math.round(elapsed)} ms. Tokens: ${names.join(", ")} (${tok.token_type}).`;
  $("elapsed").textContent = `${Math.round(elapsed)} ms, from sending to the answer read (retries included)`;
  $("expires-in").textContent = tok.expires_in ? `${tok.expires_in} s (${duration(tok.expires_in * 1000)})` : "not sent by the provider";
  $("token-scope").textContent = scopeOf(tok, access.claims);
  clearInterval(countdown);
  $("lifetime").hidden = !tok.expires_at;
  if (tok.expires_at) {
    const { expiry, note } = expiryOf(tok, access.claims);
    $("expires-at").textContent = date(expiry) + note;
    tick(tok, expiry);
    countdown = setInterval(() => tick(tok, expiry), 1000);
  } else {
    $("expires-at").textContent = "unknown";
    $("countdown").textContent = "no expiry known";
  }
  const claims = access.claims;
  const iat = claims && typeof claims.iat === "number" ? claims.iat * 1000 : tok.obtained_at;
  $("issued-at").textContent = iat ? date(iat) : "—";
  $("empty").hidden = true;
  $("result").hidden = false;
  $("result").focus({ preventScroll: true });
  $("result").scrollIntoView?.({ block: "start" });
}

// hideAnswer hides the token and the error while a request is under way.
export function hideAnswer() {
  clearInterval(countdown);
  $("error").hidden = true;
  $("result").hidden = true;
}

// wire attaches the answer pane's buttons, once.
export function wire() {
  $("copy-refresh").addEventListener("click", (e) => copy(shown.token.refresh_token, $("refresh-shown"), e.currentTarget));
  $("reveal-refresh").addEventListener("click", (e) => toggle(e.currentTarget, renderRefresh));
  $("reveal-raw").addEventListener("click", (e) => toggle(e.currentTarget, renderRaw));
}
