package apiproxy

// The rules of headers.go, for the tests of package apiproxy_test.
var (
	CapCacheControl = capCacheControl
	RebaseLocation  = rebaseLocation
	SafeRest        = safeRest
)
