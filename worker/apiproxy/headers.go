package apiproxy

import (
	"net/url"
	"strings"
)

// passedResponseHeaders are the only upstream response headers a browser
// gets (lower-case), each for a reason:
//
//   - content-type, content-encoding, content-language, content-disposition:
//     what the body is and how to read or save it (the runtime decodes and
//     re-encodes Content-Encoding itself);
//   - content-range, accept-ranges: Range is forwarded, so its answers are;
//   - etag, last-modified: the conditional request headers are forwarded;
//   - vary: the upstream's, beside the Worker's own Vary: Origin;
//   - retry-after: a 429 or 503 says when to come back;
//   - date: harmless, and what Retry-After and caches count from;
//   - location: only rebased (see rebaseLocation), never as sent;
//   - cache-control: only capped (see capCacheControl).
//
// Everything else is dropped, known or not: hop-by-hop headers,
// Content-Length (the runtime sets it from the body it sends),
// Set-Cookie (a cookie of the upstream would land on the Worker's
// origin), CORS headers (the Worker sets its own), Expires and Pragma (the
// capped Cache-Control decides), WWW-Authenticate (a challenge about the
// provider's token, which the browser does not hold: a Basic one would
// even open the browser's login dialog), Clear-Site-Data (would wipe the
// Worker's origin), Strict-Transport-Security, Server-Timing, Server,
// X-Powered-By, Link, Alt-Svc, Content-Security-Policy and every header
// of the upstream's own (internal names, debugging detail).
var passedResponseHeaders = []string{
	"content-type", "content-encoding", "content-language", "content-disposition",
	"content-range", "accept-ranges", "etag", "last-modified", "vary", "retry-after", "date",
}

// ExposedResponseHeaders are the passed headers a page's JavaScript may
// read (Access-Control-Expose-Headers) beyond the CORS-safelisted ones,
// with the Worker's own Retry-After and WWW-Authenticate.
const ExposedResponseHeaders = "Content-Disposition, Content-Range, Accept-Ranges, ETag, Retry-After, Date, Location, Content-Encoding, WWW-Authenticate"

// keptCacheDirectives are the Cache-Control directives without argument
// that an answer keeps; max-age=<seconds> is kept too. Any other is
// dropped (public, s-maxage, proxy-revalidate, stale-while-revalidate,
// stale-if-error, a qualified private="...", unknown extensions), and
// "private" is always added; no-store (or a qualified no-cache, read as
// no-cache) wins.
var keptCacheDirectives = []string{"no-cache", "must-revalidate", "no-transform", "immutable"}

// capCacheControl is the Cache-Control of an answer whose upstream sent v
// (its values comma-joined, "" for none): never more cacheable than
// private, since every answer through /api/ is for a request that carried
// a minted token, and no-store when the upstream said nothing (Expires
// alone is not honoured: it is dropped). forward.mjs (capCache) applies
// the same rule from the Plan's Cache field.
func capCacheControl(v string, present bool) string {
	if !present {
		return "no-store"
	}
	out := []string{"private"}
	add := func(d string) {
		for _, o := range out {
			if o == d {
				return
			}
		}
		out = append(out, d)
	}
	for _, d := range strings.Split(v, ",") {
		name, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "=")
		name = strings.TrimSpace(name)
		switch {
		case name == "no-store":
			return "no-store"
		case name == "no-cache":
			add("no-cache")
		case name == "max-age" && hasArg && digits(strings.TrimSpace(arg)):
			add("max-age=" + strings.TrimSpace(arg))
		case !hasArg && contains(keptCacheDirectives, name):
			add(name)
		}
	}
	return strings.Join(out, ", ")
}

func digits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Rebase is how a Location is passed on. One on the upstream's own
// origin under From (the upstream base, with a trailing slash) becomes the
// same path under To (the Worker's own /api/ URL), so that a redirect or
// a 201's Location leads back through the Worker, which checks it again;
// one elsewhere on the upstream's origin is dropped (the browser has no
// business there without the provider's token, and it names the
// upstream's inside). One on another origin (a presigned download URL)
// is passed as it is: the browser follows it without the provider's
// token, which never leaves the Worker, and without its minted one (the
// Fetch standard drops Authorization on a cross-origin redirect).
type Rebase struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// rebaseLocation applies rb to loc, a Location of an answer to target;
// "" means drop it. forward.mjs does the same with the Plan's Location.
func rebaseLocation(rb Rebase, target, loc string) string {
	base, err1 := url.Parse(target)
	from, err2 := url.Parse(rb.From)
	if err1 != nil || err2 != nil || rb.To == "" {
		return ""
	}
	u, err := base.Parse(loc)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" {
		return ""
	}
	if !strings.EqualFold(u.Scheme, from.Scheme) || !strings.EqualFold(u.Host, from.Host) {
		return u.String()
	}
	// The rest is not checked here: the Worker checks it when the
	// browser follows the rebased URL.
	if rest, ok := strings.CutPrefix(u.EscapedPath(), from.EscapedPath()); ok {
		out := rb.To + rest
		if u.RawQuery != "" {
			out += "?" + u.RawQuery
		}
		return out
	}
	return ""
}

// rebase is the Rebase of a request below the prefix of the Worker's
// public URL p.Public.
func (p *Proxy) rebase() Rebase {
	if p.Public == "" {
		return Rebase{}
	}
	return Rebase{From: strings.TrimSuffix(p.Upstream.String(), "/") + "/", To: strings.TrimSuffix(p.Public, "/") + "/"}
}

// responseHeaders filters the upstream's headers h (lower-case names) by
// the rules above, for an answer to target: what ServeHTTP passes on.
func (p *Proxy) responseHeaders(h map[string]string, target string) map[string]string {
	out := map[string]string{}
	for _, k := range passedResponseHeaders {
		if v, ok := h[k]; ok {
			out[k] = v
		}
	}
	cc, ok := h["cache-control"]
	out["cache-control"] = capCacheControl(cc, ok)
	if loc, ok := h["location"]; ok {
		if v := rebaseLocation(p.rebase(), target, loc); v != "" {
			out["location"] = v
		}
	}
	return out
}
