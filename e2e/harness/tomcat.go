//go:build unix

package harness

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TomcatJar is the embedded Tomcat 10 of Debian's libtomcat10-embed-java.
const TomcatJar = "/usr/share/java/tomcat10-embed-core.jar"

// Tomcat is a running embedded Tomcat 10 serving tomcat/Main.java: an API
// under /base/ripple/ and a secret outside it (/base/admin/secret), each
// request recorded as a Hit.
type Tomcat struct {
	// URL is its loopback origin ("http://127.0.0.1:port").
	URL string
	// Started is how long it took from launch to listening (the JDK's
	// in-memory compile of Main.java included).
	Started time.Duration

	mu   sync.Mutex
	hits []TomcatHit
	cond *sync.Cond
	log  strings.Builder
}

// TomcatHit is Tomcat's record of one request: which servlet served it
// ("api" under /base/ripple/, "secret" under /base/admin/, "other"), the
// request URI as received, the path as Tomcat resolved it, the
// Authorization it carried, and for an upload the bytes read and whether
// the body was complete.
type TomcatHit struct {
	Servlet       string `json:"servlet"`
	Method        string `json:"method"`
	URI           string `json:"uri"`
	Path          string `json:"path"`
	Authorization string `json:"authorization"`
	Bytes         int64  `json:"bytes"`
	Complete      bool   `json:"complete"`
}

// StartTomcat launches tomcat/Main.java with java (a single-file source
// program, no javac step) and stops it when the test ends; it skips (fails
// when Strict) if java or the Tomcat jar is missing.
func StartTomcat(t testing.TB) *Tomcat {
	t.Helper()
	SkipShort(t)
	var missing []string
	java, err := exec.LookPath("java")
	if err != nil {
		missing = append(missing, "java (apt-get install default-jdk-headless)")
	}
	if _, err := os.Stat(TomcatJar); err != nil {
		missing = append(missing, TomcatJar+" (apt-get install libtomcat10-embed-java)")
	}
	Require(t, "Tomcat", missing...)
	dir := t.TempDir()
	// C1 only and the serial collector: a quicker start for a small server.
	cmd := exec.Command(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", TomcatJar, Path("e2e", "harness", "tomcat", "Main.java"), dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tc := &Tomcat{}
	tc.cond = sync.NewCond(&tc.mu)
	cmd.Stderr = lockedWriter{tc}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if port, ok := strings.CutPrefix(line, "READY "); ok {
				ready <- port
				continue
			}
			var h TomcatHit
			if rec, ok := strings.CutPrefix(line, "HIT "); ok && json.Unmarshal([]byte(rec), &h) == nil {
				tc.mu.Lock()
				tc.hits = append(tc.hits, h)
				tc.cond.Broadcast()
				tc.mu.Unlock()
			}
		}
		close(ready)
	}()
	select {
	case port, ok := <-ready:
		if !ok {
			t.Fatalf("Tomcat exited before listening:\n%s", tc.Log())
		}
		tc.URL = "http://127.0.0.1:" + port
		tc.Started = time.Since(start)
	case <-time.After(90 * time.Second):
		t.Fatalf("Tomcat not listening after 90 s:\n%s", tc.Log())
	}
	return tc
}

// Hits returns the requests Tomcat served from the n-th on.
func (tc *Tomcat) Hits(n int) []TomcatHit {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if n > len(tc.hits) {
		return nil
	}
	return append([]TomcatHit(nil), tc.hits[n:]...)
}

// Count is how many requests Tomcat has served.
func (tc *Tomcat) Count() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return len(tc.hits)
}

// WaitHits waits up to d until Tomcat has served more than n requests and
// returns those from the n-th on (none if d passed first). A request is
// recorded once its body has been read to its end or broke off, and read
// from Tomcat's output a moment after its answer was sent.
func (tc *Tomcat) WaitHits(n int, d time.Duration) []TomcatHit {
	timer := time.AfterFunc(d, func() {
		tc.mu.Lock()
		tc.cond.Broadcast()
		tc.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	tc.mu.Lock()
	for len(tc.hits) <= n && time.Now().Before(deadline) {
		tc.cond.Wait()
	}
	tc.mu.Unlock()
	return tc.Hits(n)
}

// Log is what Tomcat wrote on stderr.
func (tc *Tomcat) Log() string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.log.String()
}

type lockedWriter struct{ tc *Tomcat }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.tc.mu.Lock()
	defer w.tc.mu.Unlock()
	if w.tc.log.Len() < 1<<20 {
		w.tc.log.Write(p)
	}
	return len(p), nil
}
