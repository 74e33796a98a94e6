package demoprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxBodyBytes caps every request body the server reads; a bigger body is
// answered with 413.
const MaxBodyBytes = 64 << 10

// knownParams are the request parameters the server understands. Only these
// names ever appear in an error description.
var knownParams = []string{
	"grant_type", "client_id", "client_secret", "scope",
	"username", "password", "refresh_token", "audience", "resource",
}

// paramResource is the one parameter that may be repeated: RFC 8707
// resource indicators, one per API the token is for.
const paramResource = "resource"

// params holds the parameters parsed from a token request body.
type params struct {
	values map[string]string
	// resources are the resource indicators in the order sent (values
	// holds them joined by spaces, for the request log).
	resources []string
	// nonString marks JSON members whose value was not a JSON string.
	nonString map[string]bool
}

// get returns a parameter; an empty value counts as absent (RFC 6749 3.1).
func (p *params) get(name string) (string, *oauthError) {
	if p.nonString[name] {
		return "", invalidRequest(name + " must be a JSON string")
	}
	return p.values[name], nil
}

// readBody reads the request body through the MaxBodyBytes cap.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *oauthError) {
	tooLarge := &oauthError{http.StatusRequestEntityTooLarge, "invalid_request",
		"request body exceeds " + strconv.Itoa(MaxBodyBytes) + " bytes"}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, invalidRequest("could not read the request body")
	}
	return b, nil
}

// mediaType returns the media type of a Content-Type header, lowercased and
// without parameters, with ok false when the header does not parse.
func mediaType(header string) (mt string, ps map[string]string, ok bool) {
	if header == "" {
		return "", nil, false
	}
	mt, ps, err := mime.ParseMediaType(header)
	if err != nil {
		return "", nil, false
	}
	return mt, ps, true
}

// loggedMediaType is the media type recorded in the request log: the parsed
// one, or a trimmed, bounded rendering of an unparsable header.
func loggedMediaType(header string) string {
	if mt, _, ok := mediaType(header); ok {
		return mt
	}
	mt, _, _ := strings.Cut(header, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if len(mt) > 100 {
		mt = mt[:100]
	}
	return strings.ToValidUTF8(mt, "\uFFFD")
}

// parseParams parses body according to its media type. A media type the
// server does not know yields empty params and no error (the profile check
// rejects it). On error, the params parsed so far are returned too, for the
// request log.
func parseParams(mt string, mtParams map[string]string, body []byte) (*params, *oauthError) {
	p := &params{values: map[string]string{}, nonString: map[string]bool{}}
	var err *oauthError
	switch mt {
	case mediaMultipart:
		err = parseMultipart(p, mtParams["boundary"], body)
	case mediaForm:
		err = parseForm(p, body)
	case mediaJSON:
		err = parseJSON(p, body)
	}
	return p, err
}

// add stores a parameter, rejecting a repeated one (RFC 6749 3.2) but
// resource (RFC 8707 2.1).
func (p *params) add(name, value string) *oauthError {
	if name == paramResource {
		p.resources = append(p.resources, value)
		p.values[name] = strings.Join(p.resources, " ")
		return nil
	}
	if _, dup := p.values[name]; dup {
		return duplicateParam(name)
	}
	p.values[name] = value
	return nil
}

func duplicateParam(name string) *oauthError {
	for _, k := range knownParams {
		if k == name {
			return invalidRequest("parameter " + name + " was sent more than once (RFC 6749 3.2)")
		}
	}
	return invalidRequest("a request parameter was sent more than once (RFC 6749 3.2)")
}

func parseMultipart(p *params, boundary string, body []byte) *oauthError {
	if boundary == "" {
		return invalidRequest("multipart/form-data body without a boundary parameter in Content-Type")
	}
	malformed := invalidRequest("body is not a valid multipart/form-data document")
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed
		}
		name := part.FormName()
		if name == "" {
			return invalidRequest("multipart part without a form-data name")
		}
		if part.FileName() != "" {
			return invalidRequest("multipart part is a file upload; token parameters are plain form fields")
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return malformed
		}
		if e := p.add(name, string(value)); e != nil {
			return e
		}
	}
}

func parseForm(p *params, body []byte) *oauthError {
	values, err := url.ParseQuery(string(body))
	for _, v := range values[paramResource] {
		p.add(paramResource, v)
	}
	delete(values, paramResource)
	for name, vs := range values {
		if len(vs) > 1 {
			p.values[name] = vs[0]
			return duplicateParam(name)
		}
		p.values[name] = vs[0]
	}
	if err != nil {
		return invalidRequest("body is not valid application/x-www-form-urlencoded")
	}
	return nil
}

// parseJSON reads a single top-level JSON object. Member values that are
// strings are stored as such; others are stored as their JSON text and
// marked, so a parameter read from them is refused.
func parseJSON(p *params, body []byte) *oauthError {
	malformed := invalidRequest("body is not valid JSON")
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return malformed
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalidRequest("JSON body must be an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed
		}
		name, ok := tok.(string)
		if !ok {
			return malformed
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed
		}
		value := string(raw)
		var list []string
		if name == paramResource && len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
			// One member holds every resource: a JSON object cannot repeat a name.
			for _, v := range list {
				p.add(name, v)
			}
			continue
		}
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &value); err != nil {
				return malformed
			}
		} else {
			value = canonicalJSON(raw)
			p.nonString[name] = true
		}
		if e := p.add(name, value); e != nil {
			return e
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidRequest("unexpected data after the JSON object")
	}
	return nil
}

// canonicalJSON re-encodes a JSON value with its strings unescaped where
// JSON allows, so that the request log's secret scrubbing sees through
// \u escapes.
func canonicalJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return string(raw)
	}
	return strings.TrimSuffix(out.String(), "\n")
}
