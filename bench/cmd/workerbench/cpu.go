//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuTime is the CPU time (user and system) that the workerd processes of
// process group pgid have used so far, from /proc: on a machine shared
// with other work, CPU time per request is steadier than latency.
func cpuTime(pgid int) time.Duration {
	var ticks int64
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ... utime(14) stime(15); comm may hold spaces.
		end := bytes.LastIndexByte(b, ')')
		start := bytes.IndexByte(b, '(')
		if start < 0 || end < start || !strings.Contains(string(b[start+1:end]), "workerd") {
			continue
		}
		fields := strings.Fields(string(b[end+1:]))
		if len(fields) < 13 {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g != pgid {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		s, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
