module github.com/tokenhelper/tokenhelper/bench

go 1.26.8

replace (
	github.com/tokenhelper/tokenhelper => ../
	github.com/tokenhelper/tokenhelper/e2e => ../e2e
)

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/syumai/workers v0.33.0
	github.com/tokenhelper/tokenhelper v0.0.0-00010101000000-000000000000
	github.com/tokenhelper/tokenhelper/e2e v0.0.0-00010101000000-000000000000
	golang.org/x/oauth2 v0.38.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
