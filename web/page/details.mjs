// details.mjs: the page's view of what the module found and signed (see
// app.mjs), decoded: an issuer's discovered metadata, a client assertion
// (th.clientAssertion: header and claims only, never the key or the
// signature) and a DPoP proof (th.dpopProof, decoded). Imported when one
// of them is first shown.

const $ = (id) => document.getElementById(id);

const json = (v) => JSON.stringify(v, null, 2);

function reveal(card) {
  $(card).hidden = false;
  $("details").hidden = false;
}

/** Shows the metadata th.discover() resolved to, or hides the card (null). */
export function showMetadata(md) {
  $("metadata-card").hidden = !md;
  if (!md) return;
  const list = (a) => (a.length ? a.join(", ") : "(none listed)");
  const rows = [
    ["Issuer", md.issuer],
    ["Token endpoint", md.token_endpoint],
    ["Client authentication", list(md.token_endpoint_auth_methods_supported)],
    ["DPoP algorithms", list(md.dpop_signing_alg_values_supported)],
  ];
  $("metadata").replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  reveal("metadata-card");
}

/**
 * Shows a client assertion as options send it, decoded; an error (a key
 * that cannot sign, an issuer not discovered) in its place. Its messages
 * name the option, never the key.
 */
export async function showAssertion(th, options) {
  try {
    const { header, claims } = await th.clientAssertion(options);
    $("assertion-header").textContent = json(header);
    $("assertion-claims").textContent = json(claims);
  } catch (err) {
    $("assertion-header").textContent = `Could not sign: ${err.message}`;
    $("assertion-claims").textContent = "";
  }
  reveal("assertion-card");
}

/** Shows a DPoP proof by this origin's key for a POST to url, decoded. */
export async function showProof(th, url) {
  try {
    const proof = await th.dpopProof("POST", url);
    $("dpop-header").textContent = json(th.decodeJWT(proof, { header: true }));
    $("dpop-claims").textContent = json(th.decodeJWT(proof));
  } catch (err) {
    $("dpop-header").textContent = `No proof: ${err.message}`;
    $("dpop-claims").textContent = "";
  }
  reveal("dpop-card");
}

/** Hides the cards of what the current form does not use. */
export function keep({ assertion, dpop }) {
  if (!assertion) $("assertion-card").hidden = true;
  if (!dpop) $("dpop-card").hidden = true;
  $("details").hidden = ["metadata-card", "assertion-card", "dpop-card"].every((id) => $(id).hidden);
}
