// hints.mjs: what the page (app.mjs) tells the user to do after a failed
// token request: by error code, in worker mode, and for a fetch that
// failed without an answer; explain, at the end, picks one.

// What to do next, by error code (RFC 6749 5.2 codes and the module's own).
export const HINTS = {
  invalid_client: "The provider did not accept the client ID and secret. Check both for typos and stray spaces, and that this client is enabled for this provider and grant type.",
  invalid_grant: "The username and password, or the refresh token, were refused. Check them; a refresh token can usually be used only once.",
  unauthorized_client: "This client may not use this grant type. Choose another grant type, or ask the provider to enable it.",
  unsupported_grant_type: "The endpoint does not support this grant type. Choose another one.",
  invalid_scope: "The scope was refused. Leave it empty to use the provider's default, or check the provider's documentation.",
  invalid_request: "The endpoint refused the request's format. Check the provider, the token URL and (for a custom endpoint) the body encoding and client authentication; the audience may be missing or wrong.",
  temporarily_unavailable: "The provider is overloaded or rate limiting. Wait a little and try again.",
  server_error: "The provider failed on its side (the request was tried 3 times). Try again later.",
  network: "The token URL could not be reached, or the browser did not let this page read the answer (CORS). Check the URL and that you are online.",
  timeout: "The endpoint did not answer within 30 seconds. Check the token URL, or try again later.",
  bad_response: "The answer was not a token response (for example an HTML login or error page, or a proxy's answer). Check the token URL and the provider.",
  config: "Fix the field named in the message; nothing was sent.",
  not_found: "The token URL has no token endpoint at that path: check it against the provider's documentation.",
  origin_not_allowed: "The worker does not accept requests from this page's origin: add it to the worker's ALLOWED_ORIGINS.",
};

// WORKER_HINTS replace HINTS in worker mode, where the URL is the worker's.
export const WORKER_HINTS = {
  not_found: "The worker has no such path: check the worker URL (it ends in /token, or /<route>/token).",
};

// NETWORK_HINTS explain a fetch that failed without an answer, by what
// the browser reported to a second, credential-free probe of the same URL
// (see probe): whether anything answered there at all.
export const NETWORK_HINTS = {
  unreachable: (what) => `Nothing answered at the ${what}: the browser could not connect (connection refused, no such host, or a certificate it does not trust). Check the URL, and that the server is running and reachable from this machine.`,
  cors: (what, origin) => `The ${what} answered, but the browser did not let this page read the answer: it does not allow cross-origin (CORS) requests from ${origin}. The request may have reached it, so it was not sent again.`,
};

// probe asks, after a token request failed without an answer, whether
// anything answers at url: a HEAD without credentials, cookies or body
// (mode no-cors, so that the browser reports only whether it connected),
// which reaches nothing the token request did not. It resolves to
// "unreachable" when the browser could not connect, "cors" when something
// answered (then CORS hid the token request's answer), "" when it cannot
// tell (no answer within 5 s).
async function probe(url) {
  try {
    await fetch(url, { method: "HEAD", mode: "no-cors", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer", signal: AbortSignal.timeout(5000) });
    return "cors";
  } catch (err) {
    return err?.name === "TimeoutError" ? "" : "unreachable";
  }
}

// explain is what went wrong and what to do about err (of code), in the
// words of the mode used (worker mode or not; url is where the request
// went): { message, hint }, message undefined to show the error's own.
// A fetch that failed without an answer is said by what the browser
// reported and what the probe found, not by the core's guess at the
// cause.
export async function explain(err, code, url, worker) {
  if (err?.status === 404) return { hint: worker ? WORKER_HINTS.not_found : HINTS.not_found };
  if (code === "network" && !err?.status && url) {
    const what = worker ? "worker URL" : "token URL";
    const seen = await probe(url);
    // The browser's own words end the module's message ("…: TypeError: Failed to fetch").
    const reported = /(\w*Error: [^:]*)$/.exec(err?.message ?? "")?.[1];
    const message = reported && seen ? `The browser reported only "${reported}".` : undefined;
    if (seen === "unreachable") return { message, hint: NETWORK_HINTS.unreachable(what) };
    if (seen === "cors") {
      return {
        message,
        hint: NETWORK_HINTS.cors(what, location.origin) + (worker
          ? ` Add ${location.origin} to the worker's ALLOWED_ORIGINS.`
          : " Use the curl command above (with your secret in place of ****), or a tokenhelper Worker, which calls the provider from a server."),
      };
    }
  }
  let hint = (worker && WORKER_HINTS[code]) || HINTS[code] || (err?.status >= 500 ? HINTS.server_error : "Check the provider, the token URL and the credentials.");
  if (err?.status === 429) hint = HINTS.temporarily_unavailable;
  if (err?.retryAfter) hint += ` The provider asked to wait ${err.retryAfter} s.`;
  return { hint };
}
