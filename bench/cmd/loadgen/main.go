// Command loadgen loads one loopback URL with keep-alive HTTP/1.1 clients
// and prints the result as one JSON line (see package loadgen).
//
//	loadgen -url http://127.0.0.1:8787/token -method POST -H 'Origin: http://127.0.0.1:8080' -c 8 -n 2000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/bench/loadgen"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	target := flag.String("url", "", "loopback URL to load")
	method := flag.String("method", "GET", "HTTP method")
	clients := flag.Int("c", 1, "concurrent clients")
	n := flag.Int("n", 1000, "requests in all")
	warm := flag.Int("warmup", 20, "requests sent first and not counted")
	limit := flag.Duration("timeout", 2*time.Minute, "stop after this long")
	label := flag.String("label", "", "label to include in the output")
	var hs headers
	flag.Var(&hs, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		fmt.Fprintln(os.Stderr, "loadgen: -url must be a loopback http URL")
		os.Exit(2)
	}
	newReq := func() (*http.Request, error) {
		req, err := http.NewRequest(*method, *target, nil)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		return req, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	if *warm > 0 {
		loadgen.Run(ctx, *clients, *warm, newReq)
	}
	r := loadgen.Run(ctx, *clients, *n, newReq)
	out := struct {
		Label string `json:"label,omitempty"`
		loadgen.Result
	}{*label, r}
	json.NewEncoder(os.Stdout).Encode(out)
}
