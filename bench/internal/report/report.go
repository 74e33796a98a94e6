// Package report holds what the benchmark commands share in writing their
// results: the JSON file the combined report (benchreport) reads, and
// figures rounded for people.
package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"time"
)

// WriteJSON writes v, indented, to path (creating its directory); an
// empty path writes nothing.
func WriteJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Round3 rounds to three decimals.
func Round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// MS is d in milliseconds, rounded to three decimals.
func MS(d time.Duration) float64 { return Round3(float64(d) / float64(time.Millisecond)) }

// Runtimes names each -runtime of the worker benchmarks (devrun.LaunchIn).
var Runtimes = map[string]string{
	"wrangler": "wrangler dev --local (workerd behind wrangler's proxy)",
	"workerd":  "bare workerd (wrangler's workerd binary, our config)",
}
