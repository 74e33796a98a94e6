//go:build unix

package workere2e_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
	"time"
)

// attackOversize: a chunked upload over MAX_REQUEST_BODY, and one whose
// client breaks off in the middle, never reach Tomcat complete (the
// worker aborts its fetch, which resets the upstream's connection,
// rather than ending the chunked body cleanly), and the client never gets
// the upstream's 200. A chunked upload under the limit arrives whole: the
// record tells a complete body from a cut one.
func attackOversize(t *testing.T, g *gateway) {
	n := g.tomcat.Count()
	const small = attackMaxBody - 100<<10
	res, body, err := g.call(t, "POST", "/api/upload/small", testOrigin, g.token, io.LimitReader(zeros{}, small), -1)
	hits := hitsOf(g.tomcat, n, "/base/ripple/upload/small", 1, 20*time.Second)
	if err != nil || res.StatusCode != 200 || len(hits) != 1 || !hits[0].Complete || hits[0].Bytes != small {
		t.Fatalf("a chunked %d-byte upload under the limit: %v %v %s, Tomcat saw %+v; want it whole", small, status(res), err, body, hits)
	}

	n = g.tomcat.Count()
	const big = attackMaxBody + attackMaxBody/2
	res, body, err = g.call(t, "POST", "/api/upload/big", testOrigin, g.token, io.LimitReader(zeros{}, big), -1)
	if err == nil && res.StatusCode != 413 {
		t.Errorf("a chunked %d-byte upload over the %d-byte limit: %d %s, want 413 (or an error)", big, attackMaxBody, res.StatusCode, body)
	}
	for _, h := range hitsOf(g.tomcat, n, "/base/ripple/upload/big", 1, 10*time.Second) {
		if h.Complete {
			t.Errorf("the oversized upload reached Tomcat as a complete body of %d bytes", h.Bytes)
		} else {
			t.Logf("Tomcat saw the oversized upload break off after %d bytes", h.Bytes)
		}
	}

	// The client sends half the limit in chunks, then goes away.
	n = g.tomcat.Count()
	g.sent++
	u, _ := url.Parse(g.url)
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/upload/broken HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", u.Host, testOrigin, g.token)
	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	for sent := 0; sent < attackMaxBody/2; sent += len(chunk) {
		fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	time.Sleep(500 * time.Millisecond) // let the body start flowing upstream
	conn.Close()
	for _, h := range hitsOf(g.tomcat, n, "/base/ripple/upload/broken", 1, 5*time.Second) {
		if h.Complete {
			t.Errorf("an upload whose client broke off reached Tomcat as a complete body of %d bytes", h.Bytes)
		} else {
			t.Logf("Tomcat saw the broken-off upload end after %d bytes", h.Bytes)
		}
	}
}
