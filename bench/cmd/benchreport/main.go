// Command benchreport merges the figures `./build.sh bench` collected in
// dist/bench/ into one report: a table printed to stdout and written as
// report.md and report.json beside the inputs. It compares ratios against
// the named peers (golang.org/x/oauth2, jwt-decode, a plain JavaScript
// worker, syumai's per-request instance, a direct API call), since absolute
// times on a shared 2-core machine say little.
//
// Inputs, each optional: core.txt (go test -bench output), sizes.json,
// browser.json, worker.json, mint.json, mint-workerd.json, holder.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// row is one line of the report: a measure, our figure, the peer's, their
// ratio and the goal it is held to.
type row struct {
	Section string  `json:"section"`
	Measure string  `json:"measure"`
	Ours    string  `json:"ours"`
	Peer    string  `json:"peer,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	Goal    string  `json:"goal,omitempty"`
	Met     *bool   `json:"met,omitempty"`
}

func main() {
	dir := flag.String("dir", "dist/bench", "folder holding the collected figures")
	flag.Parse()
	var rows []row
	for _, section := range []func(string) []row{coreRows, sizeRows, browserRows, workerRows, mintRows, holderRows} {
		rows = append(rows, section(*dir)...)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no figures in", *dir)
		os.Exit(1)
	}
	md := markdown(rows)
	fmt.Print(md)
	os.WriteFile(filepath.Join(*dir, "report.md"), []byte(md), 0o644)
	b, _ := json.MarshalIndent(rows, "", "  ")
	os.WriteFile(filepath.Join(*dir, "report.json"), b, 0o644)
}

func markdown(rows []row) string {
	var b strings.Builder
	section := ""
	for _, r := range rows {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(&b, "\n### %s\n\n| measure | ours | peer | ratio | goal | met |\n|---|---|---|---|---|---|\n", section)
		}
		ratio, met := "", ""
		if r.Ratio != 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Measure, r.Ours, r.Peer, ratio, r.Goal, met)
	}
	return b.String()
}

// readJSON reads dir/name into v, reporting whether it was there.
func readJSON(dir, name string, v any) bool {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %s: %v\n", name, err)
		return false
	}
	return true
}

func ptr(b bool) *bool { return &b }
