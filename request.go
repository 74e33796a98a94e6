package tokenhelper

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Request is a token request exactly as it goes on the wire.
type Request struct {
	Method string
	URL    string
	// Header holds the request headers by canonical name.
	Header map[string]string
	Body   []byte
	// Fields are the logical parameters in the order they are sent, for
	// display; secret values are marked.
	Fields []Field
	// secrets are the secret values this request carries, as they are
	// (RedactText works out their encodings).
	secrets []string
}

// Field is one parameter of a token request.
type Field struct {
	Name   string
	Value  string
	Secret bool
}

// Mask replaces secret values wherever this package shows a request.
const Mask = "****"

// BuildRequest turns a Config into the exact token request: the one place
// where multipart/form-data, urlencoded and JSON bodies are made. It returns
// an [ErrConfig] error, before anything is sent, when the Config is
// incomplete.
func BuildRequest(c Config) (*Request, error) {
	return buildRequest(c, "")
}

// buildRequest is BuildRequest with a fixed multipart boundary for tests.
func buildRequest(c Config, boundary string) (*Request, error) {
	c, err := c.Resolved()
	if err != nil {
		return nil, err
	}
	r := &Request{
		Method: "POST",
		URL:    c.TokenURL,
		Header: map[string]string{"Accept": "application/json"},
	}
	add := func(name, value string, secret bool) {
		if value != "" {
			r.Fields = append(r.Fields, Field{Name: name, Value: value, Secret: secret})
		}
		if secret && value != "" {
			r.secrets = append(r.secrets, value)
		}
	}
	if c.TokenURL == "" {
		return nil, configError("TokenURL", "not discovered yet: Client.Token discovers it from the Issuer")
	}
	add("grant_type", c.GrantType, false)
	switch {
	case c.AuthStyle.assertion():
		jws, err := c.Assertion.SignJWT(AssertionClaims(c.ClientID, c.assertionAudience(), time.Now()))
		if err != nil {
			// The signer's text could hold anything: keep it out.
			return nil, configError("Assertion", "the client assertion could not be signed")
		}
		// client_id is optional beside an assertion (RFC 7523 3.1) but
		// tells the server which client's key to check it with.
		add("client_id", c.ClientID, false)
		add("client_assertion_type", ClientAssertionType, false)
		add("client_assertion", jws, true)
		r.secrets = append(r.secrets, c.ClientSecret) // client_secret_jwt's key, should it come back
	case c.AuthStyle == AuthBasic:
		// RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
		cred := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)))
		r.Header["Authorization"] = "Basic " + cred
		r.secrets = append(r.secrets, cred, c.ClientSecret)
	default:
		add("client_id", c.ClientID, false)
		add("client_secret", c.ClientSecret, true)
	}
	switch c.GrantType {
	case GrantPassword:
		add("username", c.Username, false)
		add("password", c.Password, true)
	case GrantRefreshToken:
		add("refresh_token", c.RefreshToken, true)
	}
	add("scope", c.Scope, false)
	add("audience", c.Audience, false)
	for _, res := range c.Resource {
		add("resource", res, false)
	}

	switch c.Encoding {
	case EncodingMultipart:
		if boundary == "" {
			boundary = newBoundary()
		}
		r.Header["Content-Type"] = "multipart/form-data; boundary=" + boundary
		r.Body = multipartBody(r.Fields, boundary)
	case EncodingForm:
		r.Header["Content-Type"] = "application/x-www-form-urlencoded"
		r.Body = []byte(formBody(r.Fields))
	case EncodingJSON:
		r.Header["Content-Type"] = "application/json"
		r.Body = jsonBody(r.Fields, false)
	}
	return r, nil
}

// multipartBody writes an RFC 7578 multipart/form-data document, as curl -F
// does. It is written here rather than with mime/multipart because that
// package drags the net package into the browser's WebAssembly binary
// (about 0.4 MB); the tests read every body back with mime/multipart.
func multipartBody(fields []Field, boundary string) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString(`Content-Disposition: form-data; name="` + f.Name + `"` + "\r\n\r\n")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

func formBody(fields []Field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.Name) + "=" + url.QueryEscape(f.Value))
	}
	return b.String()
}

// jsonBody writes the fields as one JSON object in order, the body
// Auth0-style endpoints expect. With mask, secret values are replaced. A
// name given more than once (resource) becomes one member holding an
// array, in its first field's place: a JSON object cannot repeat a name.
func jsonBody(fields []Field, mask bool) []byte {
	count := map[string]int{}
	for _, f := range fields {
		count[f.Name]++
	}
	value := func(f Field) string {
		if mask && f.Secret {
			return jsonEscape(Mask)
		}
		return jsonEscape(f.Value)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		n := count[f.Name]
		if n == 0 {
			continue // written with the array of its name
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonEscape(f.Name) + ":")
		if n == 1 {
			b.WriteString(value(f))
			continue
		}
		b.WriteByte('[')
		for j, g := range fields[i:] {
			if g.Name == f.Name {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(value(g))
			}
		}
		b.WriteByte(']')
		count[f.Name] = 0
	}
	b.WriteByte('}')
	return b.Bytes()
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// newBoundary returns a random boundary that cannot occur in a field value
// by accident (30 hex digits, like mime/multipart's). A boundary is not a
// secret, so math/rand/v2 (ChaCha8, seeded by the runtime) serves; it
// keeps crypto/rand's DRBG out of the browser's WebAssembly.
func newBoundary() string {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rand.Uint64())
	}
	return "tokenhelper" + hex.EncodeToString(b[:15])
}

// Redact makes text that came from outside safe to show with this
// request's secrets (client secret, password, refresh token, Basic
// credentials): see [RedactText].
func (r *Request) Redact(s string) string { return RedactText(s, r.secrets...) }

// mask replaces every form of the request's secrets in s, whatever their
// length: for text of our own making (the curl rendering), where a short
// secret can only stand where we put it.
func (r *Request) mask(s string) string {
	for _, v := range r.secrets {
		for _, f := range SecretForms(v) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	return s
}

// MaskedFields returns Fields with secret values replaced by [Mask].
func (r *Request) MaskedFields() []Field {
	out := make([]Field, len(r.Fields))
	for i, f := range r.Fields {
		if f.Secret {
			f.Value = Mask
		}
		out[i] = f
	}
	return out
}

// Curl renders the request as a curl command with every secret replaced by
// [Mask], safe to show or log.
func (r *Request) Curl() string {
	var b strings.Builder
	b.WriteString("curl -X " + r.Method + " " + shellQuote(r.URL))
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if k != "Content-Type" || !strings.HasPrefix(r.Header[k], "multipart/") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		v := r.mask(r.Header[k])
		if k == "Authorization" {
			v = strings.SplitN(r.Header[k], " ", 2)[0] + " " + Mask // the scheme is no secret
		}
		b.WriteString(" \\\n  -H " + shellQuote(k+": "+v))
	}
	ct := r.Header["Content-Type"]
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		for _, f := range r.MaskedFields() {
			// --form-string: a value starting with @ or < is not a file name.
			b.WriteString(" \\\n  --form-string " + shellQuote(f.Name+"="+f.Value))
		}
	case ct == "application/json":
		b.WriteString(" \\\n  --data-raw " + shellQuote(string(jsonBody(r.Fields, true))))
	default:
		for _, f := range r.MaskedFields() {
			b.WriteString(" \\\n  --data-urlencode " + shellQuote(f.Name+"="+f.Value))
		}
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
