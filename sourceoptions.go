package tokenhelper

import "time"

// SourceOption configures a Source.
type SourceOption func(*Source)

// WithCache shares tokens through c (by default only this Source's memory).
func WithCache(c Cache) SourceOption { return func(s *Source) { s.cache = c } }

// WithCoordinator makes c coordinate this Source's renewals with the other
// holders of its cache key (other processes, tabs or isolates), so that
// one of them renews and the others take its token from the shared Cache.
// Without it, the Source's own single flight is the only coordination.
func WithCoordinator(c Coordinator) SourceOption { return func(s *Source) { s.coord = c } }

// WithRefreshMargin renews tokens d before they expire, instead of
// [DefaultMargin].
func WithRefreshMargin(d time.Duration) SourceOption {
	return func(s *Source) { s.margin = func(time.Duration) time.Duration { return d } }
}

// WithRefreshMarginFunc renews a token margin(lifetime) before it
// expires, instead of [DefaultMargin]; as with every margin, at most half
// the lifetime. A holder that takes its tokens from another one that
// renews them (an isolate asking the Worker's Durable Object) uses a
// smaller margin than that one's, so that it asks after the other has
// renewed, not before.
func WithRefreshMarginFunc(margin func(lifetime time.Duration) time.Duration) SourceOption {
	return func(s *Source) { s.margin = margin }
}

// WithUnknownLifetime sets how long a token whose expiry is unknown (no
// expires_in and no exp claim) is reused; the default is 5 minutes.
func WithUnknownLifetime(d time.Duration) SourceOption {
	return func(s *Source) { s.unknownLifetime = d }
}

// WithInvalidateFloor sets the least time between two renewals forced by
// [Source.Invalidate], instead of [InvalidateFloor]; 0 lets every
// Invalidate of the current token renew it.
func WithInvalidateFloor(d time.Duration) SourceOption {
	return func(s *Source) { s.invalidateFloor = d }
}

// WithCredentialID binds the Source's tokens to the credentials that
// obtain them: id (a fingerprint of the client secret, password and
// refresh token of the Config, computed by the holder of the tokens) is
// appended to the key, so that a Source given another secret neither
// finds nor replaces the tokens of this one, in the Cache, the
// Coordinator's lock or the backoff that follows a failure. [CacheKey]
// leaves the secrets out; the holder chooses how their fingerprint
// resists offline guessing (the tokenhelper/fingerprint package: keyed
// with a key kept beside the tokens, or slow). "" changes nothing.
func WithCredentialID(id string) SourceOption {
	return func(s *Source) { s.credID = id }
}

// InvalidateFloor is the default least time between two renewals that
// [Source.Invalidate] forces. An API answering 401 is outside input: in a
// gateway anyone holding a token can make it answer 401 at will, and
// without a floor every such answer would cost a provider request (and
// the provider's quota, and so every user's token).
const InvalidateFloor = time.Minute

// DefaultMargin is the smaller of 60 s and a tenth of the lifetime: a 24 h
// token is renewed a minute early, a 5 minute token 30 s early.
func DefaultMargin(lifetime time.Duration) time.Duration {
	if lifetime <= 0 {
		return time.Minute
	}
	return min(time.Minute, lifetime/10)
}
