//go:build unix

package devrun

import (
	"net"
	"strconv"
	"testing"
)

// FreePort's ports are below the ephemeral range, which outgoing
// connections draw from, and bindable.
func TestFreePort(t *testing.T) {
	lo, hi := belowEphemeral()
	for i := 0; i < 20; i++ {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p >= hi {
			t.Errorf("got port %d, want one in [%d, %d)", p, lo, hi)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		l.Close()
	}
}
