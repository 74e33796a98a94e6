// Command workervars checks a worker settings file (.dev.vars: NAME=value
// lines, # comments, optional quotes) with the worker's own parser, so that
// `./build.sh dev` refuses a bad configuration with the same message the
// worker would answer with (naming the variable, never its value).
//
//	workervars worker/.dev.vars
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/tokenhelper/tokenhelper/worker"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: workervars FILE")
		os.Exit(2)
	}
	vars, err := read(os.Args[1])
	if err == nil {
		_, err = worker.Load(func(name string) string { return vars[name] })
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Printf("%s: settings valid\n", os.Args[1])
}

// read parses a dotenv file as wrangler does for .dev.vars.
func read(path string) (map[string]string, error) {
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
		// A double-quoted value may run over several lines (a PEM key),
		// as in wrangler's dotenv.
		for strings.HasPrefix(value, `"`) && (len(value) == 1 || !strings.HasSuffix(value, `"`)) && sc.Scan() {
			n++
			value += "\n" + sc.Text()
		}
		switch {
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			// dotenv expands \n and \r inside double quotes only.
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
