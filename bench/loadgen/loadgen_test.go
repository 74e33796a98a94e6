package loadgen

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var served, conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%10 == 0 {
			w.WriteHeader(429)
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	r := Run(context.Background(), 4, 100, func() (*http.Request, error) { return http.NewRequest("GET", ts.URL, nil) })
	if r.Requests != 100 || served.Load() != 100 || r.Statuses[200] != 90 || r.Statuses[429] != 10 {
		t.Errorf("got %+v, served %d", r, served.Load())
	}
	if conns.Load() > 4 {
		t.Errorf("opened %d connections for 4 keep-alive clients", conns.Load())
	}
	if r.Median <= 0 || r.P99 < r.Median || r.PerSec <= 0 {
		t.Errorf("figures %+v", r)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"median_ms":`) {
		t.Errorf("json %s", b)
	}
}

func TestParseClients(t *testing.T) {
	if got, err := ParseClients(" 1, 8"); err != nil || len(got) != 2 || got[0] != 1 || got[1] != 8 {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "-2"} {
		if _, err := ParseClients(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMerge(t *testing.T) {
	ms := func(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }
	got := Merge([]Result{
		{Clients: 8, Requests: 10, Statuses: map[int]int{200: 10}, Median: ms(3), P99: ms(9), Elapsed: ms(100)},
		{Clients: 8, Requests: 10, Statuses: map[int]int{200: 9, 500: 1}, Median: ms(1), P99: ms(5), Elapsed: ms(100)},
		{Clients: 8, Requests: 10, Statuses: map[int]int{200: 10}, Median: ms(2), P99: ms(7), Elapsed: ms(200)},
	})
	if got.Requests != 30 || got.Statuses[200] != 29 || got.Statuses[500] != 1 || got.Median != ms(2) || got.P99 != ms(7) || got.PerSec != 75 {
		t.Errorf("got %+v", got)
	}
}
