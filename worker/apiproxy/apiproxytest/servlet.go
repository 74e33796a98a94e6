// Package apiproxytest reads request paths as upstreams do, for the tests
// of the /api/ proxy: an oracle written apart from the proxy's own check,
// so that a test can ask whether a forwarded path lands outside the base.
package apiproxytest

import "strings"

// Escapes reports whether some common reading of path, an escaped request
// path as an upstream receives it, resolves outside base (a path such as
// "/base/ripple", unescaped, without a trailing slash). The readings:
//
//   - a servlet container's (Tomcat, Jetty): ";parameters" dropped from
//     each segment, then each segment percent-decoded, then dot segments
//     resolved;
//   - a server that decodes the whole path first (once, or twice) and
//     then drops ";parameters" and resolves dot segments.
//
// Each reading also takes "\" as "/", ignores empty segments, trims
// spaces around a segment, and counts a path it cannot resolve (a ".."
// above the root) as outside.
func Escapes(base, path string) bool {
	var readings []string
	segs := strings.Split(path, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		segs[i] = decode(s)
	}
	readings = append(readings, strings.Join(segs, "/"))
	once := decode(path)
	readings = append(readings, stripParams(once), stripParams(decode(once)))
	for _, r := range readings {
		if !under(base, r) {
			return true
		}
	}
	return false
}

func stripParams(p string) string {
	segs := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return strings.Join(segs, "/")
}

// under resolves p's dot segments and reports whether it is base or
// below it.
func under(base, p string) bool {
	var out []string
	for _, s := range strings.Split(strings.ReplaceAll(p, `\`, "/"), "/") {
		switch strings.Trim(s, " ") {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
		}
	}
	want := strings.Split(strings.Trim(base, "/"), "/")
	if len(out) < len(want) {
		return false
	}
	for i := range want {
		if out[i] != want[i] {
			return false
		}
	}
	return true
}

// decode percent-decodes s, keeping an invalid escape as it is.
func decode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && hex(s[i+1]) >= 0 && hex(s[i+2]) >= 0 {
			b.WriteByte(byte(hex(s[i+1])<<4 | hex(s[i+2])))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
