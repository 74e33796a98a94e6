//go:build unix

package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/chromedp/remote"

	"github.com/tokenhelper/tokenhelper/internal/devrun"
)

// Inspector speaks the V8 inspector protocol (the Chrome DevTools
// Protocol's V8 domains) with one worker service of a bare workerd run
// with --inspector-addr: workerd serves ws://ADDR/<service> per worker.
// It measures what RSS cannot: the live V8 heap after a full collection.
//
// workerd runs an inspector command that needs the isolate (a collection)
// only when the isolate next runs for a request: while a call waits for
// its result, the Inspector pokes the service with GET poke every 100 ms.
type Inspector struct {
	c    *remote.Conn
	poke string
	next int64
}

// DialInspector connects to service's isolate through workerd's
// inspector on addr (host:port); poke is a URL of that service that
// answers without side effects (its /healthz).
func DialInspector(ctx context.Context, addr, service, poke string) (*Inspector, error) {
	c, err := remote.DialContext(ctx, "ws://"+addr+"/"+service)
	if err != nil {
		return nil, fmt.Errorf("harness: workerd's inspector: %w", err)
	}
	return &Inspector{c: c, poke: poke}, nil
}

// Close ends the connection.
func (in *Inspector) Close() error { return in.c.Close() }

// Call sends method with params (nil for none) and decodes its result
// into result (nil to drop it); events that arrive meanwhile are skipped.
func (in *Inspector) Call(ctx context.Context, method string, params, result any) error {
	in.next++
	msg := &cdproto.Message{ID: in.next, Method: cdproto.MethodType(method)}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return err
		}
		msg.Params = b
	}
	if err := in.c.Write(ctx, msg); err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if res, err := client.Get(in.poke); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
	}()
	for {
		var got cdproto.Message
		if err := in.c.Read(ctx, &got); err != nil {
			return fmt.Errorf("harness: inspector %s: %w", method, err)
		}
		if got.ID != in.next {
			continue
		}
		if got.Error != nil {
			return fmt.Errorf("harness: inspector %s: %w", method, got.Error)
		}
		if result == nil || len(got.Result) == 0 {
			return nil
		}
		return json.Unmarshal(got.Result, result)
	}
}

// LiveHeap forces a full garbage collection of the isolate
// (HeapProfiler.collectGarbage) and returns the bytes the V8 heap still
// uses (Runtime.getHeapUsage): what the isolate really holds, without the
// garbage a young generation carries between collections and without
// what the allocator keeps of an earlier peak (both in RSS). Twice, as
// DevTools' own "collect garbage" does: weak references and finalizers
// (Go's js.Value finalizers among them) free more in the second pass.
func (in *Inspector) LiveHeap(ctx context.Context) (int64, error) {
	for range 2 {
		if err := in.Call(ctx, "HeapProfiler.collectGarbage", nil, nil); err != nil {
			return 0, err
		}
	}
	var u struct {
		UsedSize float64 `json:"usedSize"`
	}
	if err := in.Call(ctx, "Runtime.getHeapUsage", nil, &u); err != nil {
		return 0, err
	}
	return int64(u.UsedSize), nil
}

// StartBareWorkerdInspected is StartBareWorkerd with workerd's inspector
// on a free loopback port, connected to the first service's isolate.
func StartBareWorkerdInspected(t testing.TB, services ...devrun.Service) (*devrun.Process, *Inspector) {
	t.Helper()
	bin := Workerd(t)
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	p, err := devrun.StartWorkerd(context.Background(), bin, t.TempDir(), services, 60*time.Second, "--inspector-addr="+addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, err := DialInspector(ctx, addr, services[0].Name, p.URL+"/healthz")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return p, in
}
