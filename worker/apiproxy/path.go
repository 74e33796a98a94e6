package apiproxy

import (
	"strings"
	"unicode/utf8"
)

// safeRest reports whether rest, the escaped path below the prefix ("" or
// starting with "/"), means a path below the upstream's base to every
// common upstream, so that it can be appended to the base as it is.
//
// Upstreams do not agree on what a path means: a servlet container
// (Tomcat, Jetty) drops ";parameters" from each segment before it
// resolves dot segments (so "/..;/" climbs), nginx and many frameworks
// decode percent-escapes before resolving them, some decode twice
// ("%252e"), some turn "\" into "/", trim spaces, or decode "%u002e" or
// the overlong UTF-8 "%c0%ae" into ".". Rather than guess one reading and
// rewrite the path, a path is refused if any of these readings could hold
// a dot segment, and whatever is ambiguous besides:
//
//   - a segment that, in the path as sent, decoded once or decoded twice,
//     with its ";parameters" dropped and surrounding spaces trimmed, is
//     made of dots only ("." "..", "..;x", "%2e%2e;", ".%3b", "%252e",
//     " .. ", "...") or of full-width or other look-alike dots;
//   - an empty segment other than the last ("a//b", "/;x/"): servers
//     merge or keep them, which moves every later segment's meaning;
//   - a backslash, a control character (NUL, tab, CR, LF, ...) or a
//     "%uXXXX" escape, in any of the readings;
//   - an invalid percent-escape in the path as sent, or a decoded path
//     that is not valid UTF-8 (overlong encodings among them).
//
// An encoded slash ("%2F") is allowed: each reading above splits on it
// too, so it cannot carry a dot segment, and APIs use it inside names.
func safeRest(rest string) bool {
	once, ok := unescape(rest, true)
	if !ok {
		return false
	}
	twice, _ := unescape(once, false)
	for _, p := range [...]string{rest, once, twice} {
		if !safeReading(p) {
			return false
		}
	}
	return true
}

// safeReading checks one reading of the path (see safeRest).
func safeReading(p string) bool {
	if !utf8.ValidString(p) || strings.ContainsRune(p, '\\') || hasUEscape(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if i == 0 {
			if seg != "" {
				return false // rest starts with "/" or is empty
			}
			continue
		}
		seg, _, _ = strings.Cut(seg, ";")
		seg = strings.Trim(seg, " ")
		if seg == "" {
			if i != len(segs)-1 {
				return false
			}
			continue
		}
		if onlyDots(seg) {
			return false
		}
	}
	return true
}

// onlyDots reports whether s is made of "." and characters that Unicode
// compatibility normalization (NFKC) folds into dots: the full-width and
// small full stops, the one and two dot leaders and the ellipsis.
func onlyDots(s string) bool {
	for _, r := range s {
		switch r {
		case '.', '\uff0e', '\ufe52', '\u2024', '\u2025', '\u2026':
		default:
			return false
		}
	}
	return true
}

// hasUEscape reports whether s holds a "%uXXXX" escape (IIS's encoding
// of UTF-16 units), in any letter case.
func hasUEscape(s string) bool {
	for i := 0; i+5 < len(s); i++ {
		if s[i] == '%' && (s[i+1] == 'u' || s[i+1] == 'U') &&
			ishex(s[i+2]) && ishex(s[i+3]) && ishex(s[i+4]) && ishex(s[i+5]) {
			return true
		}
	}
	return false
}

// unescape decodes the percent-escapes of s. strict refuses an invalid
// escape (ok false); otherwise an invalid one is kept as it is, as a
// lenient second decoding would.
func unescape(s string, strict bool) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			if strict {
				return "", false
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
