package respond

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Token answers 200 with {"access_token", "token_type", "expires_in"},
// the answer of POST /token, exactly as JSON would encode it. It is
// written by hand because it is the cached path of every token request:
// encoding/json's reflection was about a third of Go's time per cached
// request in workerd's CPU profile (worker/README.md, Measured).
func Token(w http.ResponseWriter, accessToken, tokenType string, expiresIn int64) {
	b := make([]byte, 0, len(accessToken)+len(tokenType)+64)
	b = append(b, `{"access_token":`...)
	b = appendString(b, accessToken)
	b = append(b, `,"token_type":`...)
	b = appendString(b, tokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, expiresIn, 10)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// appendString appends s as a JSON string, as encoding/json writes it: a
// string of printable ASCII that needs no escape (a token's characters)
// as it is, anything else through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
