//go:build js && wasm

// Package jsbridge is the one place where Go meets JavaScript values
// (syscall/js): awaiting promises, sending token requests with fetch, and
// turning Go errors into JS Error objects. The browser module (wasm/) and
// the Worker (worker/) both use it; neither holds logic of its own here.
package jsbridge
