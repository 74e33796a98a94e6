// wasm.mjs: starts compiling tokenhelper.wasm while the page's other
// modules still load. index.html runs it as an async module, as soon as it
// arrives (app.mjs and its imports wait until all of them are in), and its
// fetch takes the bytes the <link rel="preload"> already asked for;
// app.mjs hands the compiled module to load(). Where streaming compilation
// is missing or fails (a server that does not send application/wasm, a
// browser without WebAssembly), compiled is undefined and load() fetches
// the module itself, reporting what went wrong.
export const compiled =
  typeof globalThis.WebAssembly?.compileStreaming === "function"
    ? WebAssembly.compileStreaming(fetch(new URL("./tokenhelper.wasm", import.meta.url), { credentials: "same-origin" })).then(
        (m) => (performance.mark("tokenhelper-compiled"), m), // read by ./build.sh bench
        () => undefined,
      )
    : Promise.resolve(undefined);
