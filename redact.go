package tokenhelper

import (
	"net/url"
	"slices"
	"strings"
)

// MinMaskedLen is the shortest secret that is masked in text from outside.
// Replacing a shorter one wherever it occurs garbles the text and tells
// the secret: with the password "p", "TypeError" became "Ty****eError".
const MinMaskedLen = 8

// Withheld stands in for text from outside that could not be masked
// safely (see [RedactText]).
const Withheld = "(withheld: a secret of this request is too short to be masked in it)"

// SecretForms returns the forms in which the secret v may stand in a
// request or in text an endpoint echoes back: as it is, URL query- and
// path-escaped, and JSON-escaped (without the quotes), each once. It is
// the one list of what masking a secret means: [RedactText] masks these
// forms, and so does the curl rendering of a request. The empty string
// has no forms.
func SecretForms(v string) []string {
	if v == "" {
		return nil
	}
	forms := make([]string, 0, 4)
	for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.Trim(jsonEscape(v), `"`)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// RedactText makes text that came from outside (a provider's
// error_description, a body excerpt, a JavaScript exception's message)
// safe to show beside a request carrying secrets: every form of each
// secret ([SecretForms]) is replaced by [Mask]. When a secret is shorter
// than [MinMaskedLen], non-empty text is replaced by [Withheld] instead,
// since searching for it would garble the text and the positions of the
// stars would tell the secret. Our own messages never need this: they are
// built from field names and codes, never from values.
func RedactText(s string, secrets ...string) string {
	if s == "" {
		return s
	}
	for _, v := range secrets {
		if v != "" && len(v) < MinMaskedLen {
			return Withheld
		}
	}
	for _, v := range secrets {
		for _, f := range SecretForms(v) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	return s
}
