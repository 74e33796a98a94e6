package worker

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenhelper/tokenhelper"
)

// errorBody is every error answer: RFC 6749 section 5.2 field names.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, errorBody{Error: code, Description: desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeMisconfigured answers 500 misconfigured naming the variable.
func writeMisconfigured(w http.ResponseWriter, err error) {
	desc := "the worker's settings are invalid"
	var ce *ConfigError
	if errors.As(err, &ce) {
		desc = ce.Error()
	}
	writeError(w, http.StatusInternalServerError, "misconfigured", desc)
}

// safeCode keeps an error code to the RFC 6749 character set and a sane
// length; anything else becomes "invalid_response".
func safeCode(c string) string {
	if c == "" || len(c) > 64 {
		return "invalid_response"
	}
	for _, r := range c {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return "invalid_response"
		}
	}
	return c
}

// scrub masks the configured secrets (and their URL and JSON encodings) in
// text the provider sent, and caps its length.
func scrub(s string, cfg tokenhelper.Config) string {
	for _, v := range []string{cfg.ClientSecret, cfg.Password} {
		if len(v) < 1 {
			continue
		}
		for _, enc := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.Trim(string(must(json.Marshal(v))), `"`)} {
			s = strings.ReplaceAll(s, enc, tokenhelper.Mask)
		}
	}
	const max = 200
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

func must(b []byte, _ error) []byte { return b }
