// jwtview.mjs: the page's rendering of tokens (see app.mjs): a JWT's card,
// made from the page's one <template id="jwt-card">, with the token in its
// three coloured parts beside its decoded header and claims, times as local
// dates, and a masked token. Nothing here holds state but the cards.

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

// KINDS are the JWTs the page shows in a card, by kind.
const KINDS = { access: { title: "Access token", name: "access token" }, id: { title: "ID token", name: "ID token" } };

// card returns the card of a JWT kind ("access" or "id"), made from the
// template the first time: each data-part becomes the id <kind>-<part>
// (access-token, access-claims, id-copy, …). Cards are appended to
// #jwt-cards, hidden, in the order first asked for. onCopy is called
// with the kind and the button when its copy button is pressed.
export function card(kind, onCopy) {
  let el = $(`${kind}-card`);
  if (el) return el;
  const { title, name } = KINDS[kind];
  el = $("jwt-card").content.firstElementChild.cloneNode(true);
  el.id = `${kind}-card`;
  el.hidden = true;
  el.setAttribute("aria-labelledby", `${kind}-title`);
  const parts = {};
  for (const p of el.querySelectorAll("[data-part]")) {
    p.id = `${kind}-${p.dataset.part}`;
    parts[p.dataset.part] = p;
  }
  parts.title.textContent = title;
  parts.copy.textContent = `Copy ${name}`;
  parts.token.setAttribute("aria-label", `${title}, encoded`);
  parts.header.setAttribute("aria-label", `${title} header`);
  parts.claims.setAttribute("aria-label", `${title} claims`);
  parts.copy.addEventListener("click", (e) => onCopy(kind, e.currentTarget));
  $("jwt-cards").append(el);
  return el;
}

// decode returns a JWT's header and claims, or the error for any other token.
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

// renderJWT fills the card of kind (see card; th is the loaded module):
// the encoded token, its header and claims and its time claims as local
// dates; or a note for an opaque token. It returns the decoded parts.
export function renderJWT(th, kind, token) {
  const d = decode(th, token);
  coloured($(`${kind}-token`), token);
  $(`${kind}-kind`).textContent = `${token.length} characters${d.claims ? ", a JWT" : ""}`;
  $(`${kind}-decoded`).hidden = !d.claims;
  $(`${kind}-note`).textContent = d.claims ? "" : `The ${KINDS[kind].name} is not a JWT (${d.error.message}): it is opaque, only the provider can read it.`;
  if (!d.claims) return d;
  $(`${kind}-header`).textContent = JSON.stringify(d.header, null, 2);
  $(`${kind}-claims`).textContent = JSON.stringify(d.claims, null, 2);
  const rows = [];
  for (const [k, label] of Object.entries(TIME_CLAIMS)) {
    if (typeof d.claims[k] !== "number") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = date(d.claims[k] * 1000);
    rows.push(dt, dd);
  }
  $(`${kind}-times`).replaceChildren(...rows);
  return d;
}

export function masked(token) {
  return `•••• ${token.length} characters, hidden ••••`;
}
