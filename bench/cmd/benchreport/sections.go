package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// coreRows reads `go test -bench` output: the cached-token path against
// golang.org/x/oauth2's ReuseTokenSource, and the other core benchmarks.
func coreRows(dir string) []row {
	f, err := os.Open(filepath.Join(dir, "core.txt"))
	if err != nil {
		return nil
	}
	defer f.Close()
	runs := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || fields[3] != "ns/op" {
			continue
		}
		name := fields[0][:strings.LastIndexByte(fields[0], '-')]
		ns, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			continue
		}
		if _, ok := runs[name]; !ok {
			order = append(order, name)
		}
		runs[name] = append(runs[name], ns)
	}
	median := func(name string) float64 {
		v := slices.Clone(runs[name])
		slices.Sort(v)
		return v[len(v)/2]
	}
	var rows []row
	for _, mode := range []string{"", "/parallel"} {
		ours, peer := "BenchmarkCachedToken/impl=tokenhelper"+mode, "BenchmarkCachedToken/impl=x-oauth2"+mode
		if runs[ours] == nil || runs[peer] == nil {
			continue
		}
		r := median(ours) / median(peer)
		rows = append(rows, row{Section: "core (go test -bench, median of runs)", Measure: "cached token" + strings.ReplaceAll(mode, "/", ", "),
			Ours: ns(median(ours)), Peer: "x/oauth2 ReuseTokenSource " + ns(median(peer)), Ratio: r, Goal: "no slower (≤ 1.0x)", Met: ptr(r <= 1.05)})
	}
	for _, name := range order {
		if strings.HasPrefix(name, "BenchmarkCachedToken") {
			continue
		}
		rows = append(rows, row{Section: "core (go test -bench, median of runs)", Measure: strings.TrimPrefix(name, "Benchmark"), Ours: ns(median(name))})
	}
	return rows
}

func ns(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f µs", v/1000)
	}
	return fmt.Sprintf("%.0f ns", v)
}

// sizeRows reads sizes.json: {"name": {"raw":..,"gzip":..,"brotli":..}}.
func sizeRows(dir string) []row {
	var sizes map[string]struct{ Raw, Gzip, Brotli int64 }
	if !readJSON(dir, "sizes.json", &sizes) {
		return nil
	}
	goals := map[string]float64{"browser wasm": 1.2e6, "worker wasm": 2.0e6}
	var names []string
	for n := range sizes {
		names = append(names, n)
	}
	slices.Sort(names)
	var rows []row
	for _, n := range names {
		s := sizes[n]
		r := row{Section: "sizes", Measure: n, Ours: fmt.Sprintf("%.2f MB raw, %.2f MB gzip, %.2f MB brotli", mb(s.Raw), mb(s.Gzip), mb(s.Brotli))}
		if g, ok := goals[n]; ok {
			r.Goal = fmt.Sprintf("≤ %.1f MB gzip", g/1e6)
			r.Met = ptr(float64(s.Gzip) <= g)
		}
		rows = append(rows, r)
	}
	return rows
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// browserRows reads browser.json (bench/browser TestBrowserBench).
func browserRows(dir string) []row {
	var b struct {
		Runs         int
		LoadCacheOff struct{ Median, Min float64 } `json:"load_ms_cache_off"`
		LoadCacheOn  struct{ Median, Min float64 } `json:"load_ms_cache_on"`
		Short        struct {
			Bytes       float64
			Tokenhelper float64 `json:"tokenhelper_per_s"`
			JWTDecode   float64 `json:"jwt_decode_per_s"`
		} `json:"decode_short"`
		Long struct {
			Bytes       float64
			Tokenhelper float64 `json:"tokenhelper_per_s"`
			JWTDecode   float64 `json:"jwt_decode_per_s"`
		} `json:"decode_long"`
	}
	if !readJSON(dir, "browser.json", &b) {
		return nil
	}
	const sec = "browser (headless Chromium, same page)"
	rows := []row{
		{Section: sec, Measure: "navigation → load() resolved, HTTP cache on (median)", Ours: fmt.Sprintf("%.0f ms (min %.0f)", b.LoadCacheOn.Median, b.LoadCacheOn.Min), Goal: "< 150 ms", Met: ptr(b.LoadCacheOn.Median < 150)},
		{Section: sec, Measure: "navigation → load() resolved, HTTP cache off (median)", Ours: fmt.Sprintf("%.0f ms (min %.0f)", b.LoadCacheOff.Median, b.LoadCacheOff.Min)},
	}
	for _, d := range []struct {
		name        string
		bytes, o, p float64
	}{{"short", b.Short.Bytes, b.Short.Tokenhelper, b.Short.JWTDecode}, {"long", b.Long.Bytes, b.Long.Tokenhelper, b.Long.JWTDecode}} {
		if d.o == 0 || d.p == 0 {
			continue
		}
		r := d.p / d.o // how many times slower per call
		rows = append(rows, row{Section: sec, Measure: fmt.Sprintf("decodeJWT, %s token (%.0f bytes): time per call", d.name, d.bytes),
			Ours: fmt.Sprintf("%.1f µs (%.0f/s)", 1e6/d.o, d.o), Peer: fmt.Sprintf("jwt-decode %.1f µs (%.0f/s)", 1e6/d.p, d.p),
			Ratio: r, Goal: "≤ 5x", Met: ptr(r <= 5)})
	}
	return rows
}
