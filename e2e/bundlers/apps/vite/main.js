// main.js: an app built with Vite that gets one token in direct mode and
// shows its claims. The options come from window.TOKENHELPER_EXAMPLE (the
// tests set them: the demo provider's URL and a client of theirs); an app
// of yours passes its provider's settings, or { worker: "https://…/token" }.
import { load } from "tokenhelper";

const out = document.getElementById("out");
try {
  const th = await load();
  const token = await th.requestToken(window.TOKENHELPER_EXAMPLE);
  out.dataset.token = token.access_token;
  out.textContent = JSON.stringify(th.decodeJWT(token.access_token), null, 2);
  out.dataset.state = "ok";
} catch (err) {
  out.textContent = `${err.code ?? err.name}: ${err.message}`;
  out.dataset.state = "error";
}
