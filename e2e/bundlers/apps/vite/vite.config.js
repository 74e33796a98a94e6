// vite.config.js: what an app that imports tokenhelper needs.
import { realpathSync } from "node:fs";

export default {
  // Vite 7's dev server pre-bundles dependencies into node_modules/.vite/deps,
  // where new URL("./tokenhelper.wasm", import.meta.url) finds no wasm
  // (vitejs/vite#8427): serve the package as it is. Vite 8.4 rewrites the URL
  // in its pre-bundle and needs no exclude; it does no harm there.
  optimizeDeps: { exclude: ["tokenhelper"] },
  // Installed from a folder (npm install ../tokenhelper/dist, a symlink),
  // the package lives outside the project: let the dev server read it.
  server: { fs: { allow: [".", realpathSync("node_modules/tokenhelper")] } },
};
