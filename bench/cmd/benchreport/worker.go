package main

import "fmt"

// result is one bench/loadgen run as the bench commands write it.
type result struct {
	Clients int     `json:"clients"`
	Median  float64 `json:"median_ms"`
	P99     float64 `json:"p99_ms"`
	PerSec  float64 `json:"requests_per_second"`
	Errors  int     `json:"errors"`
}

// workerRows reads worker.json and worker-workerd.json
// (bench/cmd/workerbench, in wrangler dev and in bare workerd): cached
// POST /token for the long-lived Go instance, syumai's per-request
// instance and a plain JavaScript worker in the same workerd run.
func workerRows(dir string) []row {
	return append(workerRowsOf(dir, "worker.json", "worker (local workerd through wrangler dev; cached POST /token)"),
		workerRowsOf(dir, "worker-workerd.json", "worker (bare workerd; cached POST /token)")...)
}

// workerRowsOf reads one of workerbench's reports into section sec.
func workerRowsOf(dir, file, sec string) []row {
	var w struct {
		Targets []struct {
			ID          string
			Name        string
			FirstAnswer float64 `json:"first_answer_ms"`
			Rows        []result
		}
		Memory []struct {
			Name     string
			Requests int
			Before   int64 `json:"rss_before_bytes"`
			After    int64 `json:"rss_after_bytes"`
			HeapA    int64 `json:"go_heap_after_bytes"`
			HeapB    int64 `json:"go_heap_before_bytes"`
		}
		Size struct {
			Probes []struct {
				Name string
				Gzip int64 `json:"gzip_bytes"`
				Raw  int64 `json:"raw_bytes"`
			}
		}
	}
	if !readJSON(dir, file, &w) {
		return nil
	}
	by := map[string]map[int]result{}
	first := map[string]float64{}
	for _, t := range w.Targets {
		by[t.ID] = map[int]result{}
		for _, r := range t.Rows {
			by[t.ID][r.Clients] = r
		}
		first[t.ID] = t.FirstAnswer
	}
	var rows []row
	for _, c := range []int{1, 8} {
		long, per, js := by["go-long-lived"][c], by["go-per-request"][c], by["js"][c]
		if long.Median == 0 || js.Median == 0 {
			continue
		}
		rows = append(rows,
			row{Section: sec, Measure: fmt.Sprintf("median, %d client(s)", c), Ours: fmt.Sprintf("%.2f ms (long-lived Go)", long.Median),
				Peer: fmt.Sprintf("plain JS %.2f ms; per-request Go %.2f ms", js.Median, per.Median), Ratio: long.Median / js.Median,
				Goal: "≤ 1.3x JS", Met: ptr(long.Median <= 1.3*js.Median)},
			row{Section: sec, Measure: fmt.Sprintf("p99, %d client(s)", c), Ours: fmt.Sprintf("%.2f ms", long.P99),
				Peer: fmt.Sprintf("plain JS %.2f ms; per-request Go %.2f ms", js.P99, per.P99), Ratio: long.P99 / js.P99},
		)
		if per.PerSec > 0 {
			rows = append(rows, row{Section: sec, Measure: fmt.Sprintf("requests/s, %d client(s)", c), Ours: fmt.Sprintf("%.0f/s", long.PerSec),
				Peer: fmt.Sprintf("per-request Go %.0f/s; plain JS %.0f/s", per.PerSec, js.PerSec), Ratio: long.PerSec / per.PerSec,
				Goal: "≥ 3x per-request", Met: ptr(long.PerSec >= 3*per.PerSec)})
		}
	}
	if first["go-long-lived"] > 0 {
		rows = append(rows, row{Section: sec, Measure: "cold start: first answer after the worker is ready",
			Ours: fmt.Sprintf("%.0f ms (long-lived Go)", first["go-long-lived"]),
			Peer: fmt.Sprintf("per-request Go %.0f ms; plain JS %.0f ms", first["go-per-request"], first["js"])})
	}
	for _, m := range w.Memory {
		rows = append(rows, row{Section: sec, Measure: fmt.Sprintf("workerd RSS over %d requests: %s", m.Requests, m.Name),
			Ours: fmt.Sprintf("%.0f → %.0f MB", float64(m.Before)/1e6, float64(m.After)/1e6)})
	}
	for _, p := range w.Size.Probes {
		rows = append(rows, row{Section: "worker wasm: what each dependency adds", Measure: p.Name,
			Ours: fmt.Sprintf("%.2f MB raw, %.2f MB gzip", mb(p.Raw), mb(p.Gzip))})
	}
	return rows
}

// mintRows reads mint.json and mint-workerd.json (bench/cmd/mintbench,
// in wrangler dev and in bare workerd): GET /api through the worker in mode
// mint against the plain JavaScript proxy doing the same job (the peer),
// and the same call made directly to the API.
func mintRows(dir string) []row {
	return append(mintRowsOf(dir, "mint.json", "mode mint: /api through the worker vs the API directly (wrangler dev)"),
		mintRowsOf(dir, "mint-workerd.json", "mode mint: /api through the worker vs the API directly (bare workerd)")...)
}

// mintRowsOf reads one of mintbench's reports into section sec.
func mintRowsOf(dir, file, sec string) []row {
	var m struct {
		Rows []struct {
			Clients  int
			Direct   result
			Proxied  result
			Peer     result `json:"js_peer"`
			MintOnly result `json:"mint_only"`
		}
		Big map[string]float64 `json:"big_answer_ms"`
	}
	if !readJSON(dir, file, &m) {
		return nil
	}
	var rows []row
	for _, r := range m.Rows {
		if r.Direct.Median == 0 {
			continue
		}
		rows = append(rows,
			row{Section: sec, Measure: fmt.Sprintf("median, %d client(s)", r.Clients), Ours: fmt.Sprintf("%.2f ms through the worker (+%.2f ms)", r.Proxied.Median, r.Proxied.Median-r.Direct.Median),
				Peer: fmt.Sprintf("direct %.2f ms", r.Direct.Median), Ratio: r.Proxied.Median / r.Direct.Median},
			row{Section: sec, Measure: fmt.Sprintf("p99, %d client(s)", r.Clients), Ours: fmt.Sprintf("%.2f ms (+%.2f ms)", r.Proxied.P99, r.Proxied.P99-r.Direct.P99),
				Peer: fmt.Sprintf("direct %.2f ms", r.Direct.P99), Ratio: r.Proxied.P99 / r.Direct.P99},
		)
		if r.Peer.Median > 0 {
			med, p99 := r.Proxied.Median/r.Peer.Median, r.Proxied.P99/r.Peer.P99
			metMed, metP99 := med <= 1.3, p99 <= 1.3
			rows = append(rows,
				row{Section: sec, Measure: fmt.Sprintf("median vs the JS proxy, %d client(s)", r.Clients), Ours: fmt.Sprintf("%.2f ms", r.Proxied.Median),
					Peer: fmt.Sprintf("JS proxy %.2f ms", r.Peer.Median), Ratio: med, Goal: "≤ 1.3x", Met: &metMed},
				row{Section: sec, Measure: fmt.Sprintf("p99 vs the JS proxy, %d client(s)", r.Clients), Ours: fmt.Sprintf("%.2f ms", r.Proxied.P99),
					Peer: fmt.Sprintf("JS proxy %.2f ms", r.Peer.P99), Ratio: p99, Goal: "≤ 1.3x", Met: &metP99},
			)
		}
	}
	if w, p := m.Big["worker"], m.Big["JS peer"]; w > 0 && p > 0 {
		met := w/p <= 1.5
		rows = append(rows, row{Section: sec, Measure: "a 20 MiB answer through /api", Ours: fmt.Sprintf("%.0f ms", w),
			Peer: fmt.Sprintf("JS proxy %.0f ms; direct %.0f ms", p, m.Big["direct"]), Ratio: w / p, Goal: "≤ 1.5x", Met: &met})
	}
	return rows
}

// holderRows reads holder.json (bench/cmd/holderbench): provider requests
// across isolates in bare workerd with the TOKEN_HOLDER object and
// without it, and the cached /token through an isolate either way.
func holderRows(dir string) []row {
	type side struct {
		Burst   int      `json:"provider_requests_burst"`
		Renewal int      `json:"provider_requests_renewal"`
		Cached  []result `json:"cached_token"`
	}
	var h struct {
		Isolates int  `json:"isolates"`
		Burst    int  `json:"burst_per_isolate"`
		Without  side `json:"without_object"`
		With     side `json:"with_object"`
	}
	if !readJSON(dir, "holder.json", &h) {
		return nil
	}
	const sec = "TOKEN_HOLDER Durable Object across isolates (bare workerd)"
	burstMet, renewMet := h.With.Burst == 1, h.With.Renewal == 1
	rows := []row{
		{Section: sec, Measure: fmt.Sprintf("provider requests, %d isolates x %d requests at 8, empty cache", h.Isolates, h.Burst),
			Ours: fmt.Sprintf("%d with the object", h.With.Burst), Peer: fmt.Sprintf("%d without", h.Without.Burst), Goal: "1", Met: &burstMet},
		{Section: sec, Measure: "provider requests, renewal across the isolates",
			Ours: fmt.Sprintf("%d with the object", h.With.Renewal), Peer: fmt.Sprintf("%d without", h.Without.Renewal), Goal: "1", Met: &renewMet},
	}
	for i := range min(len(h.With.Cached), len(h.Without.Cached)) {
		a, b := h.Without.Cached[i], h.With.Cached[i]
		if a.Median > 0 {
			rows = append(rows, row{Section: sec, Measure: fmt.Sprintf("cached POST /token median, %d client(s)", b.Clients),
				Ours: fmt.Sprintf("%.2f ms with the object", b.Median), Peer: fmt.Sprintf("%.2f ms without", a.Median), Ratio: b.Median / a.Median, Goal: "the same"})
		}
	}
	return rows
}
