// The entry module of TestWorkerdPBKDF2Cost: starts the Go program in the
// first request and answers GET /?n=<iterations>&i=<distinct input> with
// the fingerprint (n=0: nothing computed, the baseline).
import "./wasm_exec.js";
import mod from "./app.wasm";

let ready = false;
export default {
  async fetch(req) {
    if (!ready) {
      const go = new Go();
      const inst = await WebAssembly.instantiate(mod, go.importObject);
      go.run(inst); // runs main until it blocks, after setting derive
      ready = true;
    }
    const u = new URL(req.url);
    return new Response(globalThis.derive(Number(u.searchParams.get("n")), Number(u.searchParams.get("i"))));
  },
};
