package worker

import (
	"errors"
	"net/http"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// writeMisconfigured answers 500 misconfigured naming the variable.
func writeMisconfigured(w http.ResponseWriter, err error) {
	desc := "the worker's settings are invalid"
	var ce *ConfigError
	if errors.As(err, &ce) {
		desc = ce.Error()
	}
	respond.Error(w, http.StatusInternalServerError, "misconfigured", desc)
}

// writeTokenError answers a failed provider token request without
// anything secret: a configuration error names its variable, anything
// else is the core's mapping (respond.FromCore).
func writeTokenError(w http.ResponseWriter, err error, cfg tokenhelper.Config) {
	if errors.Is(err, tokenhelper.ErrConfig) {
		writeMisconfigured(w, fromCoreError(err))
		return
	}
	respond.FromCore(err, scrubber(cfg)).Write(w)
}

// scrubber masks the configured secrets in text the provider sent.
func scrubber(cfg tokenhelper.Config) func(string) string {
	return respond.Scrub(cfg.ClientSecret, cfg.Password)
}
