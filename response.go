package tokenhelper

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxExpiresIn bounds a believable expires_in: anything longer is treated
// as a provider bug rather than cached for years.
const MaxExpiresIn = 366 * 24 * time.Hour

// rawResponse is the union of RFC 6749 5.1 and 5.2 members.
type rawResponse struct {
	AccessToken      string          `json:"access_token"`
	TokenType        string          `json:"token_type"`
	ExpiresIn        json.RawMessage `json:"expires_in"`
	RefreshToken     string          `json:"refresh_token"`
	IDToken          string          `json:"id_token"`
	Scope            string          `json:"scope"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	ErrorURI         string          `json:"error_uri"`
}

// ParseResponse interprets a token endpoint's answer per RFC 6749 sections
// 5.1 and 5.2. header holds lower-case header names; now is when the
// answer arrived. An "error" member is a failure even with status 200.
// Failures are [*Error] values of kind [ErrRejected] or [ErrBadResponse];
// [Client] also masks the request's secrets in them.
func ParseResponse(status int, header map[string]string, body []byte, now time.Time) (*Token, error) {
	return parseResponse(status, header, body, now, func(s string) string { return s })
}

// MaxDescription is how much of a provider's error_description (and
// error_uri) an [Error] keeps, in bytes. Servers such as ORY Hydra put a
// generic sentence first and the useful hint after it, so the cut is
// generous; the text is masked of the request's secrets before it is cut.
const MaxDescription = 1024

// parseResponse is ParseResponse with every provider-supplied text passed
// through redact before it is cut to length, so that cutting cannot leave
// the start of a secret behind.
func parseResponse(status int, header map[string]string, body []byte, now time.Time, redact func(string) string) (*Token, error) {
	fail := func(desc string, err error) (*Token, error) {
		return nil, &Error{Kind: ErrBadResponse, Code: CodeBadResponse, Status: status,
			Description: desc, Err: err, Excerpt: clean(strings.TrimSpace(redact(string(body))), 120),
			RetryAfter: retryAfter(header["retry-after"], now)}
	}
	raw, desc, err := decodeBody(header["content-type"], body)
	if raw == nil {
		return fail(desc, err)
	}
	if raw.Error != "" {
		return nil, &Error{Kind: ErrRejected, Code: errorCode(raw.Error, redact), Status: status,
			Description: clean(redact(raw.ErrorDescription), MaxDescription), URI: clean(redact(raw.ErrorURI), MaxDescription),
			RetryAfter: retryAfter(header["retry-after"], now)}
	}
	if status < 200 || status > 299 {
		return fail("HTTP error without an RFC 6749 error member", nil)
	}
	if raw.AccessToken == "" {
		return fail("response has no access_token", nil)
	}
	t := &Token{
		AccessToken:  raw.AccessToken,
		TokenType:    raw.TokenType,
		RefreshToken: raw.RefreshToken,
		IDToken:      raw.IDToken,
		Scope:        raw.Scope,
		Obtained:     now,
	}
	secs, ok := parseExpiresIn(raw.ExpiresIn)
	switch {
	case !ok:
		return fail("expires_in is not a number of seconds", nil)
	case secs < 0:
		return fail("expires_in is negative: "+strconv.FormatInt(secs, 10), nil)
	case time.Duration(secs) > MaxExpiresIn/time.Second:
		return fail("expires_in is absurdly large: "+strconv.FormatInt(secs, 10), nil)
	case secs > 0:
		t.ExpiresIn = secs
		t.Expiry = now.Add(time.Duration(secs) * time.Second)
	default:
		// No (or zero) expires_in: a JWT access token still says when it
		// expires. Otherwise the expiry stays unknown (zero).
		if exp, ok := jwtExpiry(raw.AccessToken); ok && exp.After(now) {
			t.Expiry = exp
		}
	}
	return t, nil
}

// decodeBody reads the members of a JSON (or, as some providers send,
// urlencoded) body. On failure raw is nil and desc says what was wrong.
func decodeBody(contentType string, body []byte) (raw *rawResponse, desc string, err error) {
	media := mediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	switch {
	case media == "application/x-www-form-urlencoded":
		// GitHub-style providers answer in the request's encoding.
		v, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return nil, "invalid urlencoded body", err
		}
		return &rawResponse{
			AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"),
			ExpiresIn:    json.RawMessage(strconv.Quote(v.Get("expires_in"))),
			RefreshToken: v.Get("refresh_token"), IDToken: v.Get("id_token"), Scope: v.Get("scope"),
			Error: v.Get("error"), ErrorDescription: v.Get("error_description"), ErrorURI: v.Get("error_uri"),
		}, "", nil
	case len(trimmed) == 0:
		return nil, "empty body", nil
	case media == "text/html" || trimmed[0] == '<':
		return nil, "body is HTML, not JSON (an error page or a proxy's answer?)", nil
	case media != "application/json" && !strings.HasSuffix(media, "+json") &&
		!(trimmed[0] == '{' && (media == "" || media == "text/plain" || media == "text/javascript")):
		return nil, "unexpected Content-Type " + clean(media, 60) + ", want application/json", nil
	}
	raw = new(rawResponse)
	if err := json.Unmarshal(trimmed, raw); err != nil {
		return nil, "invalid JSON", err
	}
	return raw, "", nil
}

// parseExpiresIn accepts a JSON number or a numeric string: some providers
// (and PayPal, famously) send "3600" as a string. Absent or null is 0.
func parseExpiresIn(m json.RawMessage) (int64, bool) {
	s := string(bytes.TrimSpace(m))
	if s == "" || s == "null" || s == `""` {
		return 0, true
	}
	if s[0] == '"' {
		if err := json.Unmarshal(m, &s); err != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e15 || f < -1e15 {
		return 0, false
	}
	return int64(f), true
}

// mediaType returns the lower-case media type of a Content-Type value. It
// is cut by hand rather than with mime.ParseMediaType, which would add
// about 75 KB gzip to the browser's WebAssembly for no gain here.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP-date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > 86400 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// clean cuts s to at most max bytes of valid UTF-8 with control characters
// replaced, so provider text is safe to show on one line.
func clean(s string, max int) string {
	cut := false
	if len(s) > max {
		s = s[:max] // a rune cut in half becomes "?" below
		cut = true
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if cut {
		s += "…"
	}
	return s
}

// registeredCodes are the error codes of RFC 6749 5.2, 6750 3.1 and 9449
// (DPoP), and
// the tokenhelper Worker's own: a code among them is shown as it is, since
// a secret that happens to occur in it cannot be told from the code.
var registeredCodes = []string{
	"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "access_denied", "server_error",
	"temporarily_unavailable", "invalid_token", "insufficient_scope",
	"invalid_dpop_proof", CodeUseDPoPNonce,
	"origin_not_allowed", "rate_limited", "misconfigured", "not_found", "method_not_allowed",
	CodeNetwork, CodeTimeout, CodeBadResponse,
}

// CodeWithheld is an unregistered error code that could not be shown
// safely (see [RedactText]).
const CodeWithheld = "withheld"

// errorCode is the provider's error member: a registered code as it is,
// any other through redact.
func errorCode(raw string, redact func(string) string) string {
	if slices.Contains(registeredCodes, raw) {
		return raw
	}
	if c := redact(raw); c != Withheld {
		return clean(c, 64)
	}
	return CodeWithheld
}
