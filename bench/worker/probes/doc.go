// Package probes holds tiny js/wasm programs that workerbench builds to
// show what each dependency adds to the worker's .wasm: syscall/js alone,
// then golang-jwt, then encoding/json, then net/http through
// syumai/workers. Each imports everything the one before it does.
package probes
