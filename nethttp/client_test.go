package nethttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// provider is a token endpoint handing out tok-1, tok-2, ... and counting
// its requests; it refuses every client but "my-client"/"my-secret".
type provider struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newProvider(t *testing.T) *provider {
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("client_secret") != "my-secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		p.mu.Lock()
		p.n++
		n := p.n
		p.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func newSource(t *testing.T, p *provider, secret string) *tokenhelper.Source {
	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		Provider: "aluma", TokenURL: p.URL + "/oauth/token", ClientID: "my-client", ClientSecret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// api records what each call carried and answers 401 to tokens it was
// told to refuse.
type api struct {
	*httptest.Server
	mu      sync.Mutex
	auth    []string
	bodies  []string
	refuse  func(auth string) bool
	handler http.HandlerFunc // overrides the default answer when set
}

func newAPI(t *testing.T) *api {
	a := &api{refuse: func(string) bool { return false }}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.auth = append(a.auth, r.Header.Get("Authorization"))
		a.bodies = append(a.bodies, string(b))
		refuse := a.refuse(r.Header.Get("Authorization"))
		a.mu.Unlock()
		if a.handler != nil {
			a.handler(w, r)
			return
		}
		if refuse {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *api) seen() (auth, bodies []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auth...), append([]string(nil), a.bodies...)
}

func TestClientAddsBearerWithoutTouchingTheRequest(t *testing.T) {
	p, a := newProvider(t), newAPI(t)
	c := nethttp.NewClient(newSource(t, p, "my-secret"), nil)
	req, _ := http.NewRequest("GET", a.URL+"/x", nil)
	req.Header.Set("Authorization", "Basic caller")
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v", resp, err)
	}
	resp.Body.Close()
	if auth, _ := a.seen(); len(auth) != 1 || auth[0] != "Bearer tok-1" {
		t.Errorf("API saw %q, want [Bearer tok-1]", auth)
	}
	if req.Header.Get("Authorization") != "Basic caller" {
		t.Errorf("the caller's request was modified: %q", req.Header.Get("Authorization"))
	}
}

// A 401 is retried once with a renewed token and the same body; an API
// that keeps refusing costs one provider request per floor, not one per
// call.
func TestClientRetries401OncePerFloor(t *testing.T) {
	p, a := newProvider(t), newAPI(t)
	a.refuse = func(auth string) bool { return true }
	c := nethttp.NewClient(newSource(t, p, "my-secret"), nil)
	for i := 0; i < 5; i++ {
		resp, err := c.Post(a.URL+"/x", "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("got %d, want the API's 401 passed on", resp.StatusCode)
		}
	}
	auth, bodies := a.seen()
	if p.requests() != 2 {
		t.Errorf("got %d provider requests for 5 refused calls, want 2 (the first token and one renewal)", p.requests())
	}
	// The first call: tok-1 refused, retried with tok-2; then one call each.
	if want := []string{"Bearer tok-1", "Bearer tok-2", "Bearer tok-2", "Bearer tok-2", "Bearer tok-2", "Bearer tok-2"}; strings.Join(auth, ",") != strings.Join(want, ",") {
		t.Errorf("API saw %q, want %q", auth, want)
	}
	for _, b := range bodies {
		if b != "body" {
			t.Errorf("API got body %q, want every attempt to carry the whole body", b)
		}
	}
}

// A body that cannot be read again is sent once: the 401 is the answer.
func TestClientDoesNotRetryAnUnreplayableBody(t *testing.T) {
	p, a := newProvider(t), newAPI(t)
	a.refuse = func(auth string) bool { return auth == "Bearer tok-1" }
	c := nethttp.NewClient(newSource(t, p, "my-secret"), nil)
	req, _ := http.NewRequest("POST", a.URL+"/x", io.NopCloser(strings.NewReader("once")))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth, _ := a.seen(); resp.StatusCode != 401 || len(auth) != 1 {
		t.Errorf("got %d after %d API calls, want the 401 after one", resp.StatusCode, len(auth))
	}
}

// http.Client calls the transport for every redirect hop: the token goes
// to the host the program asked, never to another one.
func TestClientKeepsTheTokenOffOtherHosts(t *testing.T) {
	p, other := newProvider(t), newAPI(t)
	a := newAPI(t)
	a.handler = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			fmt.Fprint(w, "ok")
		}
	}
	c := nethttp.NewClient(newSource(t, p, "my-secret"), nil)
	for _, path := range []string{"/away", "/here"} {
		resp, err := c.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if auth, _ := other.seen(); len(auth) != 1 || auth[0] != "" {
		t.Errorf("the other host saw %q, want one call without a token", auth)
	}
	if auth, _ := a.seen(); strings.Join(auth, ",") != "Bearer tok-1,Bearer tok-1,Bearer tok-1" {
		t.Errorf("the API saw %q, want the token on each of its own hops", auth)
	}
}

func TestClientReportsTokenFailures(t *testing.T) {
	p, a := newProvider(t), newAPI(t)
	c := nethttp.NewClient(newSource(t, p, "wrong-secret"), nil)
	_, err := c.Get(a.URL + "/x")
	var e *tokenhelper.Error
	if !errors.As(err, &e) || e.Code != "invalid_client" {
		t.Fatalf("got %v, want the provider's invalid_client", err)
	}
	if auth, _ := a.seen(); len(auth) != 0 {
		t.Errorf("the API was called %d times without a token", len(auth))
	}
}

// NewClient is golang.org/x/oauth2's NewClient for a Source: every request
// carries the token, renewed before it expires.
func ExampleNewClient() {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"eyJhbGciOi...","token_type":"bearer","expires_in":86400}`)
	}))
	defer provider.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the API saw", r.Header.Get("Authorization"))
	}))
	defer api.Close()

	src, err := tokenhelper.NewSource(&tokenhelper.Client{Transport: nethttp.New(nil)}, tokenhelper.Config{
		Provider:     "aluma",
		TokenURL:     provider.URL + "/oauth/token", // in production, leave it empty
		ClientID:     "my-client",
		ClientSecret: "my-secret",
	})
	if err != nil {
		panic(err)
	}
	client := nethttp.NewClient(src, &http.Client{Timeout: 30 * time.Second})
	resp, err := client.Get(api.URL + "/v1/things")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
	// Output:
	// the API saw Bearer eyJhbGciOi...
}
