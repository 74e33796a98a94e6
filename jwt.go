package tokenhelper

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Inspection is a JWT's header and claims, decoded WITHOUT verifying the
// signature: fine for showing a token to its owner or reading its exp,
// never for deciding whom to trust (use [Verify] for that).
type Inspection struct {
	Header map[string]any
	Claims jwt.MapClaims
}

// Inspect decodes a compact JWT (RFC 7519) WITHOUT verifying its
// signature. Errors wrap jwt.ErrTokenMalformed.
func Inspect(token string) (*Inspection, error) {
	t, _, err := unverifiedParser.ParseUnverified(token, jwt.MapClaims{})
	if err != nil && !(errors.Is(err, jwt.ErrTokenUnverifiable) && t != nil && t.Claims != nil) {
		// An unknown alg still leaves header and claims readable: only
		// malformed tokens are errors here.
		return nil, &SegmentError{Part: segmentOf(err), Reason: "invalid", Err: err}
	}
	return &Inspection{Header: t.Header, Claims: t.Claims.(jwt.MapClaims)}, nil
}

// Expiry returns the exp claim.
func (i *Inspection) Expiry() (time.Time, bool) {
	d, err := i.Claims.GetExpirationTime()
	if err != nil || d == nil {
		return time.Time{}, false
	}
	return d.Time, true
}

// IssuedAt returns the iat claim.
func (i *Inspection) IssuedAt() (time.Time, bool) {
	d, err := i.Claims.GetIssuedAt()
	if err != nil || d == nil {
		return time.Time{}, false
	}
	return d.Time, true
}

var unverifiedParser = jwt.NewParser(jwt.WithJSONNumber())

// jwtExpiry returns the exp claim of an access token that is a JWT.
func jwtExpiry(token string) (time.Time, bool) {
	if strings.Count(token, ".") != 2 {
		return time.Time{}, false
	}
	in, err := Inspect(token)
	if err != nil {
		return time.Time{}, false
	}
	return in.Expiry()
}

// segmentOf tells which part (1 header, 2 claims, 3 signature) a
// golang-jwt parse error is about.
func segmentOf(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "header"):
		return 1
	case strings.Contains(msg, "claim"):
		return 2
	case strings.Contains(msg, "signature"):
		return 3
	}
	return 0
}

// SegmentError reports a JWT part that cannot be decoded. Its message
// follows the jwt-decode npm package ("missing part #2", "invalid base64
// for part #1 (...)", "invalid json for part #2 (...)").
type SegmentError struct {
	// Part is 1 for the header, 2 for the claims, 3 for the signature, 0
	// when the token as a whole is malformed.
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

// Is makes a SegmentError match jwt.ErrTokenMalformed.
func (e *SegmentError) Is(target error) bool { return target == jwt.ErrTokenMalformed }

// Unwrap returns the underlying decoding error.
func (e *SegmentError) Unwrap() error { return e.Err }

// lenientParser decodes segments as jwt-decode does: padding allowed.
var lenientParser = jwt.NewParser(jwt.WithPaddingAllowed())

// DecodeSegment decodes part n of a compact JWT (0 header, 1 claims)
// WITHOUT verifying anything, with the lenient semantics of the jwt-decode
// npm package: only that part must exist, both base64 alphabets and
// optional padding are accepted, and the JSON may be any value.
func DecodeSegment(token string, n int) (any, error) {
	parts := strings.Split(token, ".")
	if n < 0 || n >= len(parts) {
		return nil, &SegmentError{Part: n + 1, Reason: "missing"}
	}
	seg := strings.NewReplacer("+", "-", "/", "_").Replace(parts[n])
	if len(strings.TrimRight(seg, "="))%4 == 1 {
		return nil, &SegmentError{Part: n + 1, Reason: "base64", Err: errors.New("base64 string is not of the correct length")}
	}
	b, err := lenientParser.DecodeSegment(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, &SegmentError{Part: n + 1, Reason: "base64", Err: err}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, &SegmentError{Part: n + 1, Reason: "json", Err: err}
	}
	return v, nil
}
