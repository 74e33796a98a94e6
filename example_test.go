package tokenhelper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/nethttp"
)

// fakeAluma stands in for Aluma's token endpoint: it wants an urlencoded
// body with the right client and answers as Aluma does.
func fakeAluma() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.PostFormValue("client_secret") != "my-secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"eyJhbGciOi...","token_type":"bearer","expires_in":86400}`)
	}))
}

// A Source gets a token once and hands it out until shortly before it
// expires; every caller shares the one request in flight.
func Example() {
	provider := fakeAluma() // in production, leave TokenURL empty
	defer provider.Close()

	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	src, err := tokenhelper.NewSource(client, tokenhelper.Config{
		Provider:     "aluma",
		TokenURL:     provider.URL + "/oauth/token",
		ClientID:     "my-client",
		ClientSecret: "my-secret",
	})
	if err != nil {
		panic(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Type(), tok.Remaining(time.Now()).Round(time.Hour))
	// A Token never prints its values, so logging one leaks nothing.
	fmt.Println(strings.Contains(fmt.Sprint(tok), tok.AccessToken))
	// Output:
	// Bearer 24h0m0s
	// false
}

// Errors carry the RFC 6749 fields and wrap a sentinel.
func ExampleError() {
	provider := fakeAluma()
	defer provider.Close()

	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	_, err := client.Token(context.Background(), tokenhelper.Config{
		Provider: "aluma", TokenURL: provider.URL, ClientID: "my-client", ClientSecret: "not-the-right-secret",
	})
	var e *tokenhelper.Error
	if errors.As(err, &e) && errors.Is(err, tokenhelper.ErrRejected) {
		fmt.Println(e.Code, e.Status)
	}
	fmt.Println(err)
	// Output:
	// invalid_client 401
	// tokenhelper: invalid_client (HTTP 401): Bad credentials
}

// BuildRequest shows the exact request, and a curl command with the secret
// masked.
func ExampleBuildRequest() {
	req, err := tokenhelper.BuildRequest(tokenhelper.Config{
		Provider: "alluvial", ClientID: "my-client", ClientSecret: "my-secret",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(req.Method, req.URL)
	fmt.Println(string(req.Body))
	fmt.Println(req.Curl())
	// Output:
	// POST https://auth.alluvial.finance/oauth/token
	// {"grant_type":"client_credentials","client_id":"my-client","client_secret":"my-secret","audience":"https://api.alluvial.finance"}
	// curl -X POST 'https://auth.alluvial.finance/oauth/token' \
	//   -H 'Accept: application/json' \
	//   -H 'Content-Type: application/json' \
	//   --data-raw '{"grant_type":"client_credentials","client_id":"my-client","client_secret":"****","audience":"https://api.alluvial.finance"}'
}

// A password grant without a password fails before anything is sent.
func ExampleConfig_Resolved() {
	_, err := tokenhelper.Config{
		Provider: "alphaus-ripple", GrantType: "password",
		ClientID: "my-client", ClientSecret: "my-secret", Username: "me",
	}.Resolved()
	fmt.Println(err)
	// Output: tokenhelper: invalid configuration: Password: required by the password grant
}

// A Go program gets its tokens from a deployed tokenhelper Worker, which
// holds the client secret, sending the Origin the Worker allows.
func ExampleNewWorkerSource() {
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != "POST" || r.Header.Get("Origin") != "https://app.example.com" {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"error":"origin_not_allowed"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"eyJhbGciOi...","token_type":"Bearer","expires_in":300}`)
	}))
	defer worker.Close()

	client := &tokenhelper.Client{Transport: nethttp.New(nil)}
	src, err := tokenhelper.NewWorkerSource(client, tokenhelper.WorkerConfig{
		URL:    worker.URL + "/token", // https in production
		Origin: "https://app.example.com",
	})
	if err != nil {
		panic(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Type(), tok.ExpiresIn)

	other, _ := tokenhelper.NewWorkerSource(client, tokenhelper.WorkerConfig{URL: worker.URL + "/token"})
	_, err = other.Token(context.Background())
	var e *tokenhelper.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Status)
	}
	// Output:
	// Bearer 300
	// origin_not_allowed 403
}
