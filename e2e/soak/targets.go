package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// Schedule is the soak's standard schedule: healthy, then each fault for
// fault with healthy stretches of healthy between them and at the end.
func Schedule(healthy, fault time.Duration) []Phase {
	s := []Phase{{Healthy, healthy}}
	for _, m := range []Mode{Refuse, Fail503, Limit, Slow} {
		s = append(s, Phase{m, fault}, Phase{Healthy, healthy})
	}
	return s
}

// SourceCall asks a core Source.
func SourceCall(src *tokenhelper.Source) Call {
	return func(ctx context.Context) (time.Time, error) {
		tok, err := src.Token(ctx)
		if err != nil {
			return time.Time{}, err
		}
		return tok.Expiry, nil
	}
}

// WorkerCall asks a tokenhelper worker: POST url (its /token) from origin.
func WorkerCall(c *http.Client, url, origin string) Call {
	return func(ctx context.Context) (time.Time, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return time.Time{}, err
		}
		req.Header.Set("Origin", origin)
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return time.Time{}, err
		}
		defer res.Body.Close()
		var body struct {
			Error     string `json:"error"`
			ExpiresIn int64  `json:"expires_in"`
		}
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		if err := json.Unmarshal(raw, &body); err != nil {
			return time.Time{}, fmt.Errorf("HTTP %d, not JSON: %.60q", res.StatusCode, raw)
		}
		if res.StatusCode != http.StatusOK {
			return time.Time{}, fmt.Errorf("HTTP %d %s", res.StatusCode, body.Error)
		}
		return t0.Add(time.Duration(body.ExpiresIn) * time.Second), nil
	}
}
