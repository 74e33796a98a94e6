package tokenhelper

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrMalformedJWT is wrapped by every JWT decoding error.
var ErrMalformedJWT = errors.New("tokenhelper: malformed JWT")

// Inspection is a JWT's header and claims, decoded WITHOUT verifying the
// signature: fine for showing a token to its owner or reading its exp,
// never for deciding whom to trust (package verify does that).
type Inspection struct {
	Header map[string]any
	// Claims hold numbers as json.Number, so that large ones stay exact.
	Claims map[string]any
}

// Inspect decodes a compact JWT (RFC 7519) WITHOUT verifying its
// signature. The token must have three parts whose first two are JSON
// objects. Errors are [*SegmentError]s wrapping [ErrMalformedJWT].
//
// Decoding needs only base64url and JSON: golang-jwt, and the crypto it
// registers, is kept to package verify, so that the browser's WebAssembly
// does not carry RSA, ECDSA and x509 just to show a token.
func Inspect(token string) (*Inspection, error) {
	if strings.Count(token, ".") != 2 {
		return nil, &SegmentError{Part: 0, Reason: "invalid", Err: errors.New("a JWT has three dot-separated parts")}
	}
	if _, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndexByte(token, '.')+1:]); err != nil {
		return nil, &SegmentError{Part: 3, Reason: "base64", Err: errors.New("the signature is not base64url")}
	}
	in := &Inspection{}
	for i, dst := range []*map[string]any{&in.Header, &in.Claims} {
		raw, err := DecodeSegmentJSON(token, i)
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(dst); err != nil || *dst == nil {
			return nil, &SegmentError{Part: i + 1, Reason: "json", Err: errors.New("not a JSON object")}
		}
	}
	return in, nil
}

// Expiry returns the exp claim.
func (i *Inspection) Expiry() (time.Time, bool) { return numericDate(i.Claims["exp"]) }

// IssuedAt returns the iat claim.
func (i *Inspection) IssuedAt() (time.Time, bool) { return numericDate(i.Claims["iat"]) }

// numericDate reads an RFC 7519 NumericDate (seconds, maybe fractional).
func numericDate(v any) (time.Time, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return time.Time{}, false
		}
	case float64:
		f = n
	default:
		return time.Time{}, false
	}
	if f != f || f < 0 || f > 1e11 { // NaN, or beyond the year 5000
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// jwtExpiry returns the exp claim of an access token that is a JWT.
func jwtExpiry(token string) (time.Time, bool) {
	in, err := Inspect(token)
	if err != nil {
		return time.Time{}, false
	}
	return in.Expiry()
}

// SegmentError reports a JWT part that cannot be decoded. Its message
// follows the jwt-decode npm package ("missing part #2", "invalid base64
// for part #1 (...)", "invalid json for part #2 (...)").
type SegmentError struct {
	// Part is 1 for the header, 2 for the claims, 0 when the token as a
	// whole is malformed.
	Part int
	// Reason is "missing", "base64", "json" or "invalid".
	Reason string
	Err    error
}

func (e *SegmentError) Error() string {
	n := strconv.Itoa(e.Part)
	switch e.Reason {
	case "missing":
		return "Invalid token specified: missing part #" + n
	case "base64":
		return "Invalid token specified: invalid base64 for part #" + n + " (" + e.Err.Error() + ")"
	case "json":
		return "Invalid token specified: invalid json for part #" + n + " (" + e.Err.Error() + ")"
	}
	return "Invalid token specified: " + e.Err.Error()
}

// Is makes a SegmentError match ErrMalformedJWT.
func (e *SegmentError) Is(target error) bool { return target == ErrMalformedJWT }

// Unwrap returns the underlying decoding error.
func (e *SegmentError) Unwrap() error { return e.Err }

// DecodeSegment decodes part n of a compact JWT (0 header, 1 claims)
// WITHOUT verifying anything, into any JSON value. See [DecodeSegmentJSON].
func DecodeSegment(token string, n int) (any, error) {
	raw, err := DecodeSegmentJSON(token, n)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &SegmentError{Part: n + 1, Reason: "json", Err: err}
	}
	return v, nil
}

// base64Std maps the standard alphabet to the URL-safe one, so that both
// decode, as they do in jwt-decode.
var base64Std = strings.NewReplacer("+", "-", "/", "_")

// DecodeSegmentJSON returns part n of a compact JWT (0 header, 1 claims)
// as checked JSON text, WITHOUT verifying anything, with the semantics of
// the jwt-decode npm package: only that part must exist; both base64
// alphabets, padding and embedded whitespace are accepted (a length of 1
// modulo 4 is not); bytes that are not UTF-8 are read as Latin-1; the JSON
// may be any value, its members keep their order.
func DecodeSegmentJSON(token string, n int) ([]byte, error) {
	part, ok := "", false
	rest := token
	for i := 0; i <= n; i++ {
		part, rest, ok = strings.Cut(rest, ".")
		if !ok && i < n {
			return nil, &SegmentError{Part: n + 1, Reason: "missing"}
		}
	}
	if n < 0 {
		return nil, &SegmentError{Part: n + 1, Reason: "missing"}
	}
	if len(part)%4 == 1 {
		return nil, &SegmentError{Part: n + 1, Reason: "base64", Err: errors.New("base64 string is not of the correct length")}
	}
	seg := strings.TrimRight(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
			return -1 // atob ignores ASCII whitespace
		}
		return r
	}, base64Std.Replace(part)), "=")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, &SegmentError{Part: n + 1, Reason: "base64", Err: errors.New("The string to be decoded is not correctly encoded.")}
	}
	if !utf8.Valid(b) {
		b = latin1(b)
	}
	if !json.Valid(b) {
		var check json.RawMessage // only for the message
		err := json.Unmarshal(b, &check)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, &SegmentError{Part: n + 1, Reason: "json", Err: err}
	}
	return b, nil
}

// latin1 reads each byte as a code point, as atob's fallback in jwt-decode
// does for a payload that is not UTF-8.
func latin1(b []byte) []byte {
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
