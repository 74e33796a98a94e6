// Package respond writes the tokenhelper Worker's JSON answers: [Error],
// the one error writer (RFC 6749 section 5.2 field names), [JSON] for
// everything else, and [FromCore], the one mapping from a failed token
// request (a core [*tokenhelper.Error]) to the status, code and
// description of the worker contract. The handler, the /api/ proxy and
// the js/wasm main all answer through it.
package respond

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is every error answer: RFC 6749 section 5.2 field names.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// JSON answers status with v as JSON, or 500 server_error when v cannot
// be encoded.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ErrorText is the body Error writes, for an answer given elsewhere (the
// entry module's, on a forward plan's failure).
func ErrorText(code, desc string) string {
	b, _ := json.Marshal(ErrorBody{Error: code, Description: desc})
	return string(b) + "\n"
}

// Error answers status with {"error": code, "error_description": desc},
// never cached. desc must hold nothing secret.
func Error(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	JSON(w, status, ErrorBody{Error: code, Description: desc})
}

// healthBody is what JSON writes for {"status": "ok"}.
const healthBody = `{"status":"ok"}` + "\n"

// Health answers 200 {"status":"ok"}: written as is, without
// encoding/json, because /healthz is often a fresh isolate's first request
// and encoding/json's reflection is code that V8 would otherwise compile
// for it (about 4 ms of a first answer in workerd; bench/cmd/startbench).
func Health(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(healthBody))
}
