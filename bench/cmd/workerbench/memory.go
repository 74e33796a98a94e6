//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/internal/report"
	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

// settle is how many requests each worker gets before the memory check.
const settle = 2000

// memoryCheck sends n cached POST /token at 8 clients to a long-lived Go
// worker started for this (the testhooks build, so that the Go runtime's
// memory can be read) and to the JS worker, and reads workerd's RSS
// before and after each (after settle requests to warm up). wrangler dev's workerd grows by itself with
// every request (the JS worker shows it too): compare the two.
// launch starts a worker (devrun.LaunchIn in the chosen runtime).
func memoryCheck(launch func(dir, src string, files []string, vars map[string]string) (*devrun.Process, error), tmp, bundle string, vars map[string]string, js *Target, n int) ([]*Memory, error) {
	dir := filepath.Join(tmp, "go-memory")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	v := map[string]string{}
	for k, x := range vars {
		v[k] = x
	}
	p, err := launch(dir, bundle, devrun.BundleFiles, v)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	for i := range 20 {
		if _, err := request(http.DefaultClient, p.URL); err != nil {
			return nil, fmt.Errorf("memory check: warm-up request %d: %w", i+1, err)
		}
	}
	var out []*Memory
	for _, t := range []struct {
		id, name string
		p        *devrun.Process
		hooks    bool
	}{{"go-long-lived", "Go, one instance per isolate", p, true}, {js.ID, js.Name, js.p, false}} {
		m := &Memory{Target: t.id, Name: t.name, Requests: n, Clients: 8}
		// Settle first: the Go heap and workerd grow to their working
		// size over the first requests; growth after that is a leak.
		load(t.p.URL, 8, settle)
		var before, after goMem
		if t.hooks {
			if before, err = readGoMem(t.p.URL); err != nil {
				return nil, err
			}
		}
		m.BeforeBytes, m.Processes = t.p.RSS()
		r := load(t.p.URL, 8, n)
		m.Non200 = r.Requests - r.Statuses[200]
		time.Sleep(time.Second)
		m.AfterBytes, _ = t.p.RSS()
		if t.hooks {
			if after, err = readGoMem(t.p.URL); err != nil {
				return nil, err
			}
			m.GoHeapBefore, m.GoHeapAfter = before.HeapAlloc, after.HeapAlloc
			m.GoSysBefore, m.GoSysAfter = before.Sys, after.Sys
			m.GoGCs = after.NumGC - before.NumGC
			m.Within, m.Later = after.Within-before.Within, after.Later-before.Later
		}
		m.Growth = report.Round3(float64(m.AfterBytes-m.BeforeBytes) / float64(max(1, m.BeforeBytes)))
		out = append(out, m)
	}
	return out, nil
}

type goMem struct {
	HeapAlloc int64 `json:"go_heap_alloc"`
	Sys       int64 `json:"go_sys"`
	NumGC     int64 `json:"go_num_gc"`
	Within    int64 `json:"answered_within_call"`
	Later     int64 `json:"answered_later"`
}

func readGoMem(url string) (goMem, error) {
	var m goMem
	res, err := http.Get(url + "/__test/instance")
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return m, fmt.Errorf("memory check: /__test/instance answered %d", res.StatusCode)
	}
	return m, json.NewDecoder(res.Body).Decode(&m)
}
