// webpack.config.js: webpack 5 needs nothing for tokenhelper: it emits the
// new URL("./tokenhelper.wasm", import.meta.url) of the module as an asset
// (a hashed .wasm beside main.js) and rewrites the URL.
import { fileURLToPath } from "node:url";

export default {
  mode: "production",
  entry: "./main.js",
  output: { path: fileURLToPath(new URL("dist", import.meta.url)), clean: true },
  // The wasm is about 4 MB: keep webpack's size warnings for the JavaScript.
  performance: { assetFilter: (name) => !name.endsWith(".wasm") },
};
