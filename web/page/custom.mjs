// custom.mjs: the page's custom-provider form (see app.mjs): its own
// options (body encoding, client authentication, a private_key_jwt key,
// DPoP), the discovery of the token endpoint from an issuer, and the
// details card (details.mjs, imported when first shown) with the
// discovered metadata, the client assertion and the DPoP proof, decoded.
// A private key pasted for private_key_jwt is read from its textarea for
// each call, like a secret, and never kept here.

const $ = (id) => document.getElementById(id);

/**
 * customOptions adds to o, the options of the custom provider, what its
 * own fields say: encoding, authStyle, issuer (and the token endpoint
 * discovered from it when no token URL is given), the private_key_jwt
 * key instead of the secret, and dpop.
 */
export function customOptions(o) {
  o.encoding = $("encoding").value;
  o.authStyle = $("auth-style").value;
  o.issuer = $("issuer").value.trim();
  // An issuer without a token URL: the endpoint discovered (see discover),
  // for the preview (buildTokenRequest cannot wait for discovery); see
  // forSending.
  if (o.issuer && !$("token-url").value.trim() && discovery.issuer === o.issuer && discovery.md) {
    o.tokenURL = discovery.md.token_endpoint;
    previewOnly.add(o);
  }
  if (o.authStyle === "private_key_jwt") {
    delete o.clientSecret;
    o.clientAssertionKey = $("client-assertion-key").value.trim();
    o.clientAssertionKid = $("client-assertion-kid").value.trim();
  }
  if ($("custom-dpop").checked) o.dpop = true;
  return o;
}

// previewOnly holds the options whose tokenURL customOptions took from
// discovery for the preview.
const previewOnly = new WeakSet();

/**
 * forSending is o for requestToken: without a token URL taken from
 * discovery, so that the core discovers itself (from its cache) and
 * checks the metadata as it does for any issuer (the client
 * authentication methods, the DPoP algorithms), not only the preview.
 */
export function forSending(o) {
  if (!previewOnly.has(o)) return o;
  const { tokenURL, ...rest } = o;
  return rest;
}

// discovery is the last issuer asked for and what came of it: md, the
// metadata, or err; the token endpoint is discovered once the issuer
// field has been left alone for a moment (not at each keystroke).
const discovery = { issuer: "", md: null, err: null, timer: 0 };

/**
 * discover looks up issuer's metadata with th when active (a custom
 * provider in credentials mode) and the issuer changed, then says what
 * it found and calls done (the page renders its preview again).
 */
export function discover(th, issuer, active, done) {
  if (!issuer || !active) {
    $("issuer-status").textContent = "";
    return;
  }
  if (issuer === discovery.issuer) return;
  Object.assign(discovery, { issuer, md: null, err: null });
  clearTimeout(discovery.timer);
  $("issuer-status").textContent = "Discovering the token endpoint from the issuer's metadata…";
  discovery.timer = setTimeout(async () => {
    let md = null;
    let err = null;
    try {
      md = await th.discover(issuer);
    } catch (e) {
      err = e;
    }
    if (discovery.issuer !== issuer) return; // the field changed meanwhile
    Object.assign(discovery, { md, err });
    $("issuer-status").textContent = md
      ? `Token endpoint discovered: ${md.token_endpoint}`
      : `Could not discover the token endpoint: ${err?.description || err?.message}`;
    $("issuer-status").className = md ? "hint wide" : "error-text wide";
    done();
    (await details()).showMetadata(md);
  }, 400);
}

/**
 * pendingDiscovery says, on the button, that the token endpoint is not
 * known yet for options with an issuer and no token URL, and reports
 * whether it did (the issuer is then the field to fill in).
 */
export function pendingDiscovery(o) {
  if (!o.issuer || o.tokenURL || discovery.issuer !== o.issuer || discovery.md) return false;
  const button = $("get-token");
  button.disabled = true;
  button.textContent = discovery.err ? "Fix the Issuer" : "Discovering…";
  $("preview-body").hidden = true;
  return true;
}

let shown = null; // the Promise of details.mjs, once needed

function details() {
  shown ??= import("./details.mjs");
  return shown;
}

/**
 * showDetails shows, after a token request, the client assertion and the
 * DPoP proof the options make, decoded, and hides what they do not use.
 * The proof is one for a POST to where the token requests go (the worker
 * or the token endpoint), as each of them carries a fresh one.
 */
export async function showDetails(th, o) {
  const assertion = o.authStyle === "private_key_jwt" || o.authStyle === "client_secret_jwt";
  const dpop = Boolean(o.dpop && (o.worker || o.tokenURL));
  if (!assertion && !dpop && !shown) return;
  const d = await details();
  d.keep({ assertion, dpop });
  if (assertion) await d.showAssertion(th, o);
  if (dpop) await d.showProof(th, o.worker ?? o.tokenURL);
}
