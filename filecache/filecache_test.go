package filecache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for a Cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, dir string) (*Cache, *clock) {
	t.Helper()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	c.Now = clk.Now
	return c, clk
}

func token(access string, life time.Duration) *tokenhelper.Token {
	return &tokenhelper.Token{AccessToken: access, TokenType: "Bearer", RefreshToken: "rt-" + access, Obtained: t0, Expiry: t0.Add(life)}
}

func TestPutGetModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokenhelper")
	c, clk := open(t, dir)
	ctx := context.Background()
	if tok, err := c.Get(ctx, "th2-abc"); tok != nil || err != nil {
		t.Fatalf("empty cache: got %v %v, want nil nil", tok, err)
	}
	tok := token("at-1", time.Hour)
	if err := c.Put(ctx, "th2-abc", tok, tok.Expiry); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Get(ctx, "th2-abc")
	if got == nil || got.AccessToken != "at-1" || !got.Expiry.Equal(tok.Expiry) {
		t.Fatalf("Get: got %v, want at-1 until %v", got, tok.Expiry)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "th2-abc.json"): 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
			}
		}
	}
	clk.add(2 * time.Hour)
	got, _ = c.Get(ctx, "th2-abc")
	if got == nil || got.AccessToken != "" || got.RefreshToken != "rt-at-1" {
		t.Errorf("Get after expiry: got %#v, want only the refresh token", got)
	}
	if err := c.Delete(ctx, "th2-abc"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, "th2-abc"); got != nil {
		t.Errorf("Get after Delete: got %v, want nil", got)
	}
	if err := c.Delete(ctx, "th2-abc"); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
}

func TestOpenTightensDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix modes")
	}
	dir := filepath.Join(t.TempDir(), "tokenhelper")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open(t, dir)
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("mode: got %v, want 0700", fi.Mode().Perm())
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link); err == nil {
		t.Error("Open of a symbolic link: got no error")
	}
}

func TestUnsafeKeysStayInside(t *testing.T) {
	c, _ := open(t, t.TempDir())
	for _, k := range []string{"../evil", "a/b", "", strings.Repeat("x", 200)} {
		if p := c.path(k, ".json"); filepath.Dir(p) != c.Dir() {
			t.Errorf("key %q: path %s is outside %s", k, p, c.Dir())
		}
	}
}

func TestClear(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokenhelper")
	c, _ := open(t, dir)
	c.Put(context.Background(), "a", token("x", time.Hour), t0.Add(time.Hour))
	c.Put(context.Background(), "b", token("y", time.Hour), t0.Add(time.Hour))
	n, err := c.Clear()
	if err != nil || n != 2 {
		t.Errorf("Clear: got %d %v, want 2 nil", n, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Clear the directory: %v, want it gone", err)
	}
}

// renewer is a renew function that looks in the cache first, like a
// Source's, and counts the renewals it makes.
type renewer struct {
	c    *Cache
	n    atomic.Int32
	err  error
	wait time.Duration
}

func (r *renewer) renew(ctx context.Context) (*tokenhelper.Token, error) {
	if t, _ := r.c.Get(ctx, "k"); t != nil && t.AccessToken != "" {
		return t, nil
	}
	r.n.Add(1)
	time.Sleep(r.wait)
	if r.err != nil {
		return nil, r.err
	}
	tok := token("at", time.Hour)
	r.c.Put(ctx, "k", tok, tok.Expiry)
	return tok, nil
}

func TestRenewOneAmongMany(t *testing.T) {
	dir := t.TempDir()
	var count atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { // a Cache of its own, as another process would have
			defer wg.Done()
			c, _ := open(t, dir)
			r := &renewer{c: c, wait: 50 * time.Millisecond}
			if _, err := c.Renew(context.Background(), "k", r.renew); err != nil {
				t.Error(err)
			}
			count.Add(r.n.Load())
		}()
	}
	wg.Wait()
	want := int32(1)
	if runtime.GOOS == "windows" || runtime.GOOS == "js" {
		want = count.Load() // no cross-process lock there
	}
	if count.Load() != want {
		t.Errorf("renewals: got %d, want %d", count.Load(), want)
	}
}

func TestRenewKeepsTheBackoff(t *testing.T) {
	c, clk := open(t, t.TempDir())
	ctx := context.Background()
	down := &tokenhelper.Error{Kind: tokenhelper.ErrRejected, Code: "temporarily_unavailable", Status: 503, RetryAfter: 20 * time.Second}
	r := &renewer{c: c, err: down}
	if _, err := c.Renew(ctx, "k", r.renew); err != down {
		t.Fatalf("first failure: got %v, want it as it is", err)
	}
	clk.add(5 * time.Second)
	// Another process: a Cache of its own on the same files.
	c2, _ := open(t, c.Dir())
	c2.Now = clk.Now
	rep := c2.Repeated("k")
	if rep == nil || !rep.Repeated || rep.Code != "temporarily_unavailable" || rep.Status != 503 || rep.RetryAfter != 15*time.Second || rep.Kind != tokenhelper.ErrRejected {
		t.Fatalf("Repeated: got %#v, want temporarily_unavailable 503 repeated, 15s left", rep)
	}
	_, err := c2.Renew(ctx, "k", r.renew)
	var e *tokenhelper.Error
	if !errors.As(err, &e) || !e.Repeated || r.n.Load() != 1 {
		t.Fatalf("within the window: got %v after %d renewals, want the failure repeated after 1", err, r.n.Load())
	}
	clk.add(16 * time.Second)
	if c2.Repeated("k") != nil {
		t.Error("after the window: Repeated is still set")
	}
	c2.Renew(ctx, "k", r.renew)
	if n := c2.read("k").Failure.Count; n != 2 || r.n.Load() != 2 {
		t.Errorf("second failure: count %d after %d renewals, want 2 and 2", n, r.n.Load())
	}
	r.err = nil
	clk.add(time.Minute)
	if tok, err := c2.Renew(ctx, "k", r.renew); err != nil || tok.AccessToken != "at" {
		t.Fatalf("recovery: got %v %v", tok, err)
	}
	if f := c2.read("k").Failure; f != nil {
		t.Errorf("after a success the failure is still kept: %#v", f)
	}
}

func TestRenewServesAValidTokenWhileFailing(t *testing.T) {
	c, clk := open(t, t.TempDir())
	ctx := context.Background()
	tok := token("old", time.Hour)
	c.Put(ctx, "k", tok, tok.Expiry)
	clk.add(59 * time.Minute) // inside the margin: the Source renews
	down := &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork}
	renews := 0
	renew := func(context.Context) (*tokenhelper.Token, error) { renews++; return nil, down }
	for range 3 {
		got, err := c.Renew(ctx, "k", renew)
		if err != nil || got.AccessToken != "old" {
			t.Fatalf("got %v %v, want the valid token", got, err)
		}
	}
	if renews != 1 {
		t.Errorf("renewals during the backoff: got %d, want 1", renews)
	}
	if c.Repeated("k") != nil {
		t.Error("Repeated with a valid token on disk: want nil")
	}
}

func TestRenewGivenUpKeepsNoFailure(t *testing.T) {
	c, _ := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	renew := func(context.Context) (*tokenhelper.Token, error) {
		cancel()
		return nil, &tokenhelper.Error{Kind: tokenhelper.ErrNetwork, Code: tokenhelper.CodeNetwork, Err: context.Canceled}
	}
	c.Renew(ctx, "k", renew)
	if f := c.read("k").Failure; f != nil {
		t.Errorf("a renewal the caller gave up on was kept as a failure: %#v", f)
	}
}

func TestRenewWaitEndsWithTheContext(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" {
		t.Skip("no cross-process lock")
	}
	c, _ := open(t, t.TempDir())
	held := make(chan struct{})
	release := make(chan struct{})
	go c.Renew(context.Background(), "k", func(context.Context) (*tokenhelper.Token, error) {
		close(held)
		<-release
		return token("at", time.Hour), nil
	})
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c2, _ := open(t, c.Dir())
	called := false
	_, err := c2.Renew(ctx, "k", func(context.Context) (*tokenhelper.Token, error) { called = true; return nil, nil })
	if !errors.Is(err, tokenhelper.ErrTimeout) || called {
		t.Errorf("waiting past the deadline: got %v (renew called: %v), want ErrTimeout without renewing", err, called)
	}
	if f := c2.read("k").Failure; f != nil {
		t.Errorf("a wait that timed out was kept as a failure: %#v", f)
	}
}

// CredentialID: stable for one directory (across Opens, so between
// processes), different for another secret or another directory; the
// key is created 0600 once however many callers race, and logout takes
// it away.
func TestCredentialID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	right := tokenhelper.Config{Provider: "aluma", ClientID: "c", ClientSecret: "right"}
	wrong := right
	wrong.ClientSecret = "wrong"
	ids := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c, err := Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			id, err := c.CredentialID(right)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("racing callers got different ids %q and %q", first, id)
		}
	}
	c, _ := Open(dir)
	if w, _ := c.CredentialID(wrong); w == first || w == "" {
		t.Errorf("wrong secret: got %q, want an id other than the right one's", w)
	}
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	other, _ := Open(t.TempDir())
	if id, _ := other.CredentialID(right); id == first {
		t.Error("another directory (another key) gives the same id")
	}
	if _, err := c.Clear(); err != nil {
		t.Fatal(err)
	}
	c, _ = Open(dir)
	if id, _ := c.CredentialID(right); id == first {
		t.Error("after Clear the old key is still in use")
	}
	os.WriteFile(filepath.Join(dir, keyFile), []byte("not a key"), 0o600)
	if _, err := c.CredentialID(right); err == nil {
		t.Error("a damaged key file: got no error")
	}
}
