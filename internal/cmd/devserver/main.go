// Command devserver serves the built browser files (dist/ by default) on a
// loopback address for `./build.sh dev`, with the WebAssembly-aware
// handler of package internal/devserver.
//
//	devserver [-addr 127.0.0.1:8080] [-dir dist]
//
// Once listening it prints `serving DIR on http://HOST:PORT/` on standard
// output; it stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenhelper/tokenhelper/internal/devserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	dir := flag.String("dir", "dist", "directory to serve")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal("devserver: ", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Printf("devserver: WARNING: %s is not a loopback address", ln.Addr())
	}
	srv := &http.Server{Handler: devserver.Handler(*dir), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Printf("serving %s on http://%s/\n", *dir, ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal("devserver: ", err)
	}
}
