module github.com/tokenhelper/tokenhelper

go 1.26.8

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/syumai/workers v0.33.0
)
