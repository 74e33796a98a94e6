package demoprovider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// oauthError is an RFC 6749 5.2 error answer. Its description is written by
// the server and never contains a value the client sent.
type oauthError struct {
	status int
	code   string
	desc   string
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func invalidScope(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", desc}
}

func unsupportedGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unsupported_grant_type", desc}
}

// invalidTarget is RFC 8707 2's error for a resource indicator the
// server does not accept.
func invalidTarget(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_target", desc}
}

func accessDenied(desc string) *oauthError {
	return &oauthError{http.StatusForbidden, "access_denied", desc}
}

func serverError(desc string) *oauthError {
	return &oauthError{http.StatusInternalServerError, "server_error", desc}
}

// write sends the error as JSON. A 401 carries the WWW-Authenticate
// challenge RFC 6749 5.2 asks for.
func (e *oauthError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="demo"`)
	}
	writeJSON(w, e.status, errorBody{Error: e.code, Description: e.desc})
}

// writeJSON answers status with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<redacted:ok>" readable; nosniff guards against HTML sniffing
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"server_error","error_description":"could not encode the response"}`)
	}
	writeBody(w, status, "application/json", bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeBody answers status with body as contentType.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
