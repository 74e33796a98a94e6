//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"sync"

	"github.com/tokenhelper/tokenhelper"
)

// recorder is a Transport that keeps the body of the last answer read
// through it, so that requestToken can hand back the answer's members as
// they came (the raw member of its token), next to what the core parsed.
// One recorder serves one requestToken call: the core retries only after
// a failure, so the last answer of a call that succeeded is the one the
// token was parsed from. The body is only what the core reads anyway
// (at most its MaxBody).
type recorder struct {
	next tokenhelper.Transport

	mu    sync.Mutex
	body  *bytes.Buffer
	media string
}

func (r *recorder) RoundTrip(ctx context.Context, req *tokenhelper.Request) (*tokenhelper.Response, error) {
	resp, err := r.next.RoundTrip(ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body, r.media = nil, ""
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	buf := new(bytes.Buffer)
	r.body, r.media = buf, resp.Header["content-type"]
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, buf), resp.Body}
	return resp, nil
}

// answer is the last answer's members as JSON text (an object, members
// in the order sent), or "" when there is none to show.
func (r *recorder) answer(secrets ...string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.body == nil {
		return ""
	}
	out, err := answerJSON(r.media, r.body.Bytes(), secrets)
	if err != nil {
		return ""
	}
	return string(out)
}

// answerJSON re-encodes a token endpoint's answer as a JSON object with
// its members in the order sent (a urlencoded answer, as some providers
// send, becomes an object of strings), every string passed through
// maskSecrets. It fails for anything but an object.
func answerJSON(contentType string, body []byte, secrets []string) ([]byte, error) {
	media, _, _ := strings.Cut(contentType, ";")
	body = bytes.TrimSpace(body)
	if strings.EqualFold(strings.TrimSpace(media), "application/x-www-form-urlencoded") {
		return formJSON(string(body), secrets)
	}
	if len(body) == 0 || body[0] != '{' {
		return nil, errNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers as sent: 86400, not 86400.0 or 8.64e+04
	var out bytes.Buffer
	if err := copyValue(&out, dec, secrets); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject // trailing data
	}
	return out.Bytes(), nil
}

var errNotObject = errors.New("tokenhelper: the answer is not a JSON object")

// copyValue writes the next JSON value of dec to out, objects and arrays
// in their order, strings (member names too) masked.
func copyValue(out *bytes.Buffer, dec *json.Decoder, secrets []string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		closing := byte('}')
		if v == '[' {
			closing = ']'
		}
		out.WriteByte(byte(v))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				out.WriteByte(',')
			}
			if v == '{' {
				name, err := dec.Token()
				if err != nil {
					return err
				}
				writeString(out, name.(string), secrets)
				out.WriteByte(':')
			}
			if err := copyValue(out, dec, secrets); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		out.WriteByte(closing)
	case string:
		writeString(out, v, secrets)
	case json.Number:
		out.WriteString(v.String())
	default: // bool or nil
		b, _ := json.Marshal(v)
		out.Write(b)
	}
	return nil
}

// formJSON is a urlencoded answer as a JSON object of strings.
func formJSON(body string, secrets []string) ([]byte, error) {
	var out bytes.Buffer
	out.WriteByte('{')
	n := 0
	for pair := range strings.SplitSeq(body, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if n++; n > 1 {
			out.WriteByte(',')
		}
		writeString(&out, key, secrets)
		out.WriteByte(':')
		writeString(&out, value, secrets)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func writeString(out *bytes.Buffer, s string, secrets []string) {
	b, _ := json.Marshal(maskSecrets(s, secrets))
	out.Write(b)
}

// maskSecrets replaces the secrets in one string of the answer: a
// provider that echoes the client secret or the password must not get
// it shown. A secret too short to search for safely ([MinMaskedLen])
// withholds the whole string when the string holds it.
func maskSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" && len(v) < tokenhelper.MinMaskedLen && strings.Contains(s, v) {
			return tokenhelper.Withheld
		}
	}
	for _, v := range secrets {
		if len(v) >= tokenhelper.MinMaskedLen {
			s = tokenhelper.RedactText(s, v)
		}
	}
	return s
}
