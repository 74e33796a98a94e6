package tokenhelper

import (
	"fmt"
	"unicode/utf8"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func utf8Valid(s string) bool { return utf8.ValidString(s) }
