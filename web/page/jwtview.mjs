// jwtview.mjs: the page's rendering of tokens (see app.mjs): a JWT in
// its three coloured parts beside its decoded header and claims, times as
// local dates, a masked token. Nothing here holds state.

const $ = (id) => document.getElementById(id);

// duration is ms in days, hours, minutes and seconds.
export function duration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  const parts = [];
  if (s >= 86400) parts.push(`${Math.floor(s / 86400)} d`);
  if (s >= 3600) parts.push(`${Math.floor((s % 86400) / 3600)} h`);
  if (s >= 60) parts.push(`${Math.floor((s % 3600) / 60)} min`);
  parts.push(`${s % 60} s`);
  return parts.join(" ");
}

// date is a local date and time, with the UTC instant after it.
export function date(ms) {
  const d = new Date(ms);
  return `${d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })} (${d.toISOString()})`;
}

// decode returns a JWT's header and claims, or null for any other token.
function decode(th, token) {
  try {
    return { header: th.decodeJWT(token, { header: true }), claims: th.decodeJWT(token) };
  } catch (err) {
    return { error: err };
  }
}

// coloured shows a JWT in its three parts, each in its own colour.
function coloured(pre, token) {
  const parts = token.split(".");
  if (parts.length !== 3) {
    pre.textContent = token;
    return;
  }
  const spans = parts.map((text, i) => {
    const s = document.createElement("span");
    s.className = ["jwt-header", "jwt-payload", "jwt-signature"][i];
    s.textContent = text;
    return s;
  });
  pre.replaceChildren(spans[0], ".", spans[1], ".", spans[2]);
}

const TIME_CLAIMS = { iat: "Issued (iat)", nbf: "Not before (nbf)", exp: "Expires (exp)", auth_time: "Authenticated (auth_time)" };

// renderJWT fills a token card (th is the loaded module): the encoded token, its header and claims
// and its time claims as local dates; or a note for an opaque token.
export function renderJWT(th, ids, token, what) {
  const d = decode(th, token);
  coloured($(ids.encoded), token);
  $(ids.kind).textContent = `${token.length} characters${d.claims ? ", a JWT" : ""}`;
  $(ids.decoded).hidden = !d.claims;
  $(ids.note).textContent = d.claims ? "" : `The ${what} is not a JWT (${d.error.message}): it is opaque, only the provider can read it.`;
  if (!d.claims) return d;
  $(ids.header).textContent = JSON.stringify(d.header, null, 2);
  $(ids.claims).textContent = JSON.stringify(d.claims, null, 2);
  const rows = [];
  for (const [k, label] of Object.entries(TIME_CLAIMS)) {
    if (typeof d.claims[k] !== "number") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = date(d.claims[k] * 1000);
    rows.push(dt, dd);
  }
  $(ids.times).replaceChildren(...rows);
  return d;
}

export function masked(token) {
  return `•••• ${token.length} characters, hidden ••••`;
}

