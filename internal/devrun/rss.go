//go:build unix

package devrun

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RSS returns the resident memory, in bytes, of the workerd processes
// that this wrangler dev started (its process group), and how many there
// are. It reads /proc, so it reports 0 processes where there is none.
func (p *Process) RSS() (rss int64, procs int) {
	pgid := p.cmd.Process.Pid
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		end := bytes.LastIndexByte(b, ')')
		start := bytes.IndexByte(b, '(')
		if start < 0 || end < start {
			continue
		}
		comm := string(b[start+1 : end])
		fields := strings.Fields(string(b[end+1:]))
		if len(fields) < 3 || !strings.Contains(comm, "workerd") {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g != pgid {
			continue
		}
		if kb := statusRSS(filepath.Join(filepath.Dir(f), "status")); kb > 0 {
			rss += kb * 1024
			procs++
		}
	}
	return rss, procs
}

// statusRSS reads VmRSS (kB) from a /proc/<pid>/status file.
func statusRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
