//go:build unix

package workere2e_test

import (
	"github.com/tokenhelper/tokenhelper/internal/demoprovider"
	"github.com/tokenhelper/tokenhelper/internal/testkeys"
	"github.com/tokenhelper/tokenhelper/worker"
)

const (
	testOrigin     = "https://app.example.com"
	secret         = demoprovider.DefaultClientSecret
	callerIssuer   = "https://team.example.com"
	callerAudience = "aud-tag-123"
)

// env is a set of worker settings (the .dev.vars of a test worker).
type env map[string]string

// with returns a copy of e with the name, value pairs kv set.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// callerEnv adds the caller gate of issuer k to e.
func callerEnv(k *testkeys.Issuer, e env) env {
	return e.with(worker.VarCallerJWKSURL, k.JWKSURL, worker.VarCallerIssuer, k.Issuer, worker.VarCallerAudience, k.Audience)
}
