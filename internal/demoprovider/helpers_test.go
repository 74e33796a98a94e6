package demoprovider_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
)

// Encodings a test can send a body as.
const (
	encMultipart = "multipart"
	encForm      = "form"
	encJSON      = "json"
)

const (
	testSecret   = demoprovider.DefaultClientSecret
	testPassword = demoprovider.DefaultPassword
)

// testClock is the fixed clock of the test servers, on a whole second.
var testClock = time.Now().Truncate(time.Second)

// env is a demo provider behind a real loopback HTTP server.
type env struct {
	t   *testing.T
	srv *demoprovider.Server
	ts  *httptest.Server
}

func newEnv(t *testing.T, opts demoprovider.Options) *env {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testClock }
	}
	srv := demoprovider.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{t: t, srv: srv, ts: ts}
}

// encode builds a body in the given encoding, with fields in sorted order.
func encode(t testing.TB, enc string, fields map[string]string) (body []byte, contentType string) {
	t.Helper()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	switch enc {
	case encMultipart:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, k := range keys {
			if err := mw.WriteField(k, fields[k]); err != nil {
				t.Fatal(err)
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), mw.FormDataContentType()
	case encForm:
		v := url.Values{}
		for _, k := range keys {
			v.Set(k, fields[k])
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded"
	case encJSON:
		b, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		return b, "application/json"
	}
	t.Fatalf("unknown encoding %q", enc)
	return nil, ""
}

// nativeEncoding is the encoding each profile documents.
func nativeEncoding(profile string) string {
	switch profile {
	case "alphaus-ripple", "alphaus-wave":
		return encMultipart
	case "aluma":
		return encForm
	case "alluvial", "alluvial-staging":
		return encJSON
	}
	return encForm
}

// clientFields are correct client_credentials fields for a profile.
func clientFields(profile string) map[string]string {
	f := map[string]string{
		"grant_type":    "client_credentials",
		"client_id":     demoprovider.DefaultClientID,
		"client_secret": testSecret,
	}
	switch profile {
	case "alphaus-ripple", "alphaus-wave":
		f["scope"] = "openid"
	case "alluvial":
		f["audience"] = "https://api.alluvial.finance"
	case "alluvial-staging":
		f["audience"] = "https://api.staging.alluvial.finance"
	}
	return f
}

// with returns a copy of f with the given key/value pairs set; an empty
// value deletes the key.
func with(f map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range f {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// result is a decoded answer.
type result struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r *result) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

// do sends a request built by hand and decodes a JSON answer.
func (e *env) do(req *http.Request) *result {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading the answer: %v", err)
	}
	res := &result{status: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &res.json)
	}
	return res
}

// post sends fields to a profile's token endpoint in an encoding.
func (e *env) post(profile, enc string, fields map[string]string, mods ...func(*http.Request)) *result {
	e.t.Helper()
	body, ct := encode(e.t, enc, fields)
	return e.postRaw(demoprovider.Path(profile), ct, body, mods...)
}

func (e *env) postRaw(path, contentType string, body []byte, mods ...func(*http.Request)) *result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, m := range mods {
		m(req)
	}
	return e.do(req)
}

func (e *env) get(path string) *result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// basic sets RFC 6749 2.3.1 HTTP Basic credentials.
func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
}

// verify checks a JWT against the server's published JWKS and returns its
// claims.
func (e *env) verify(token string) (jwt.MapClaims, map[string]any) {
	e.t.Helper()
	keys := e.get(demoprovider.JWKSPath)
	if keys.status != http.StatusOK {
		e.t.Fatalf("JWKS: status %d", keys.status)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg, Use string } `json:"keys"`
	}
	if err := json.Unmarshal(keys.body, &set); err != nil {
		e.t.Fatalf("JWKS: %v", err)
	}
	keyfunc := func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tok.Header["kid"] && k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA" && k.Use == "sig" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				if err != nil || len(x) != ed25519.PublicKeySize {
					return nil, errors.New("bad x")
				}
				return ed25519.PublicKey(x), nil
			}
		}
		return nil, errors.New("no key for kid")
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, claims, keyfunc,
		jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(demoprovider.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return testClock }),
	)
	if err != nil {
		e.t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	return claims, tok.Header
}

// assertError checks an RFC 6749 5.2 error answer.
func assertError(t *testing.T, r *result, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if got := r.str("error"); got != code {
		t.Errorf("error %q, want %q (body %s)", got, code, r.body)
	}
	if r.str("error_description") == "" {
		t.Errorf("no error_description in %s", r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	if status == http.StatusUnauthorized {
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="demo"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
	}
	for _, secret := range []string{testSecret, testPassword} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("error body echoes a secret: %s", r.body)
		}
	}
}

// last returns the last logged request.
func (e *env) last() demoprovider.Received {
	e.t.Helper()
	reqs := e.srv.Requests()
	if len(reqs) == 0 {
		e.t.Fatal("no request logged")
	}
	return reqs[len(reqs)-1]
}

// decodeSegment decodes a base64url JWT segment into v, without verifying.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
