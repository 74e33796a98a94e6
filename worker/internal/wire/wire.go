// Package wire is how a request and its answer cross between the Worker's
// entry module (worker/entry/worker.mjs) and the long-lived Go instance
// (worker/cmd/worker): each as one string of lines rather than an object
// of arrays. Every JavaScript value Go reads or makes through syscall/js
// is a reference with a finalizer of its own (runtime.SetFinalizer), and
// with a browser's dozen headers those references were most of Go's cost
// per request (measured under Node with --cpu-prof: runtime.addspecial
// alone 12% of the time); one string each way is one reference.
//
// A request is
//
//	METHOD "\n" URL "\n" ("1" if a body follows, else "0") { "\n" name ":" value }
//
// and an answer's head
//
//	STATUS { "\n" name ":" value }
//
// A header name holds no ':' and no value a line break (the Fetch
// standard's Headers refuses both), so the lines need no escaping; a
// value may hold ':' (only the first one splits). One line per value, so
// Set-Cookie and values with commas cross whole.
package wire

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// ErrMalformed is a request that is not in the format above.
var ErrMalformed = errors.New("wire: malformed request")

// Request is a decoded request.
type Request struct {
	Method, URL string
	// HasBody says that a body follows (the entry module streams it).
	HasBody bool
	Header  http.Header
}

// DecodeRequest reads s, as the entry module writes it.
func DecodeRequest(s string) (*Request, error) {
	method, rest, ok1 := strings.Cut(s, "\n")
	url, rest, ok2 := strings.Cut(rest, "\n")
	body, rest, _ := strings.Cut(rest, "\n")
	if !ok1 || !ok2 || method == "" || (body != "0" && body != "1") {
		return nil, ErrMalformed
	}
	// Sized once: growing a map past 8 entries (a browser sends a dozen
	// headers) was a tenth of Go's time per request in workerd.
	r := &Request{Method: method, URL: url, HasBody: body == "1", Header: make(http.Header, strings.Count(rest, "\n")+1)}
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			return nil, ErrMalformed
		}
		k = canonical(k)
		r.Header[k] = append(r.Header[k], v)
	}
	return r, nil
}

// common maps the header names a browser or Cloudflare usually sends, as
// the Fetch API gives them (lower case), to their canonical form: a map
// lookup instead of textproto's canonicalization, which allocates a new
// string for every lower-case name.
var common = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Cdn-Loop",
		"Cf-Connecting-Ip", "Cf-Ipcountry", "Cf-Ray", "Cf-Visitor", "Connection", "Content-Length",
		"Content-Type", "Cookie", "Host", "If-None-Match", "Origin", "Pragma", "Priority", "Referer",
		"Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Te", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip",
	} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// canonical is http.CanonicalHeaderKey(k), from the table when it can.
func canonical(k string) string {
	if c, ok := common[k]; ok {
		return c
	}
	return http.CanonicalHeaderKey(k)
}

// EncodeHead writes an answer's status and header.
func EncodeHead(status int, h http.Header) string {
	return string(AppendHead(nil, status, h))
}

// AppendHead appends EncodeHead(status, h) to b.
func AppendHead(b []byte, status int, h http.Header) []byte {
	b = strconv.AppendInt(b, int64(status), 10)
	for k, vs := range h {
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") || strings.ContainsRune(k, ':') {
				continue // not a header the Fetch API would take either
			}
			b = append(b, '\n')
			b = append(b, k...)
			b = append(b, ':')
			b = append(b, v...)
		}
	}
	return b
}
