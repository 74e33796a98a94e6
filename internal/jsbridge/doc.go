//go:build js && wasm

// Package jsbridge holds the syscall/js plumbing that the browser module
// (wasm/) and the Worker (worker/cmd/worker) share: awaiting promises,
// sending token requests with fetch (Fetch), reading JS options objects
// and turning Go errors into JS Error objects. What only one of them needs
// (the wasm exports, the Worker's bindings and its request hand-over)
// stays in that adapter; neither holds token logic of its own here.
package jsbridge
