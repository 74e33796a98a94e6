// Package devvars reads and writes a worker's local settings file,
// .dev.vars, for the dev supervisor (internal/cmd/dev): Read parses it as
// wrangler does, Prepare writes the demo provider's settings unless the
// file is the user's own.
package devvars

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Read parses a dotenv file as wrangler does for .dev.vars: NAME=value
// lines, an optional `export ` prefix, # comments, single or double
// quotes (\n and \r expanded inside double quotes only), and
// double-quoted values that run over several lines (a PEM key). An error
// names the line, never its content.
func Read(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want NAME=value", n)
		}
		value = strings.TrimSpace(value)
		for strings.HasPrefix(value, `"`) && (len(value) == 1 || !strings.HasSuffix(value, `"`)) && sc.Scan() {
			n++
			value += "\n" + sc.Text()
		}
		switch {
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			value = strings.NewReplacer(`\n`, "\n", `\r`, "\r").Replace(value[1 : len(value)-1])
		case len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'':
			value = value[1 : len(value)-1]
		default:
			if i := strings.Index(value, " #"); i >= 0 {
				value = strings.TrimSpace(value[:i])
			}
		}
		vars[strings.TrimSpace(name)] = value
	}
	return vars, sc.Err()
}
