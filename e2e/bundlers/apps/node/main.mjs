// main.mjs: a Node program that gets one token in direct mode and prints
// it as JSON on stdout. The options come from the TOKENHELPER_EXAMPLE
// environment variable (the tests set them: the demo provider's URL and a
// client of theirs); a program of yours passes its provider's settings.
import { load, unload } from "tokenhelper";

const th = await load(); // reads node_modules/tokenhelper/tokenhelper.wasm from disk
try {
  const token = await th.requestToken(JSON.parse(process.env.TOKENHELPER_EXAMPLE));
  const claims = th.decodeJWT(token.access_token);
  console.log(JSON.stringify({ access_token: token.access_token, expires_at: token.expires_at, claims }));
} finally {
  await unload(); // stops the Go program
}
