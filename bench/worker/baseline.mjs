// baseline.mjs: the plain JavaScript worker that `./build.sh bench` runs
// side by side with the Go worker. Same job on the measured (cached) path:
// check the origin against ALLOWED_ORIGINS, take the token from the
// isolate's memory (as the Go worker does), else from the Cache API under
// a synthetic key, answer {access_token, token_type, expires_in} with the
// same headers. On a miss it fetches the token (multipart, as the
// alphaus-ripple profile does) and keeps it until a minute before expiry.
// Bare workerd has no Cache API configured ("No Cache was configured"):
// there the memory copy is all. No retries, no caller gate: the benchmark
// measures the hit path.

const KEY = "https://tokenhelper.invalid/bench/baseline";
const MARGIN_MS = 60_000;
let memo; // this isolate's copy: {access_token, token_type, expiry}

function json(status, body, origin) {
  const headers = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    Vary: "Origin",
  };
  if (origin) headers["Access-Control-Allow-Origin"] = origin;
  return new Response(JSON.stringify(body) + "\n", { status, headers });
}

async function obtain(env) {
  const form = new FormData();
  form.set("grant_type", "client_credentials");
  form.set("client_id", env.CLIENT_ID);
  form.set("client_secret", env.CLIENT_SECRET);
  form.set("scope", env.SCOPE || "openid");
  const res = await fetch(env.TOKEN_URL, { method: "POST", body: form, headers: { Accept: "application/json" } });
  const t = await res.json();
  if (!res.ok || !t.access_token) throw new Error("token endpoint: " + res.status);
  const expiry = Date.now() + t.expires_in * 1000;
  const ttl = Math.max(1, t.expires_in - Math.min(60, t.expires_in / 10));
  const entry = { access_token: t.access_token, token_type: t.token_type || "Bearer", expiry };
  await caches.default
    .put(KEY, new Response(JSON.stringify(entry), {
      headers: { "Content-Type": "application/json", "Cache-Control": "max-age=" + Math.floor(ttl) },
    }))
    .catch(() => {});
  return entry;
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return json(200, { status: "ok" });
    if (url.pathname !== "/token") return json(404, { error: "not_found" });
    const origin = req.headers.get("Origin") || "";
    const allowed = (env.ALLOWED_ORIGINS || "").split(",").map((s) => s.trim());
    if (!origin || !allowed.includes(origin)) return json(403, { error: "origin_not_allowed" });
    if (req.method !== "POST") return json(405, { error: "method_not_allowed" }, origin);
    let entry = memo && memo.expiry - Date.now() > MARGIN_MS ? memo : undefined;
    if (!entry) {
      const hit = await caches.default.match(KEY).catch(() => undefined);
      if (hit) entry = await hit.json();
    }
    if (!entry) {
      try {
        entry = await obtain(env);
      } catch (e) {
        return json(502, { error: "bad_response", error_description: "the token request failed" }, origin);
      }
    }
    memo = entry;
    const expiresIn = Math.max(1, Math.floor((entry.expiry - Date.now()) / 1000));
    return json(200, { access_token: entry.access_token, token_type: entry.token_type, expires_in: expiresIn }, origin);
  },
};
