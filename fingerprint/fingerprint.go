// Package fingerprint names the credentials of a tokenhelper Config (the
// client secret, the password, a configured refresh token) without
// letting the name be used to test guesses of them: the id that
// [tokenhelper.WithCredentialID] appends to a Source's cache key, so that
// a Source given a wrong or rotated secret neither finds nor replaces
// the tokens obtained with the right one.
//
// A plain hash of a password stored beside a token (a file name, a KV
// key, a Durable Object's name) would let whoever reads the store test
// guesses offline, as fast as they can hash. The two fingerprints here
// stop that in the two places tokens are held:
//
//   - [Keyed] is an HMAC-SHA256 under a key that lives only with the
//     tokens' holder (the command keeps a random one in its 0600 cache
//     directory, beside the tokens themselves; the Worker in mode mint
//     uses its SIGNING_KEY): without the key a fingerprint tests nothing,
//     and whoever has the key already has the tokens, which are as good
//     as the secret for their lifetime.
//   - [Slow] is PBKDF2-HMAC-SHA256 salted with the rest of the
//     configuration ([tokenhelper.CacheKey]), for a holder that has no
//     private place for a key (a Worker shares its stores between
//     isolates and keeps only its settings private): each guess costs
//     the iterations, and a fingerprint over several secrets (a client
//     secret and a password) tests a guess only with all of them.
//
// The package imports crypto: the browser's WebAssembly does not import
// it (the core hashes its keys with FNV for that reason), and holders
// that need a fingerprint do.
package fingerprint

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/tokenhelper/tokenhelper"
)

// Size is the length in bytes of a fingerprint (hex encoded: twice
// that): 128 bits name the credentials of one key without collisions.
const Size = 16

// material is the credentials of cfg, each prefixed with its length so
// that no two different sets read the same; nil when cfg has none.
func material(cfg tokenhelper.Config) []byte {
	if cfg.ClientSecret == "" && cfg.Password == "" && cfg.RefreshToken == "" {
		return nil
	}
	var b []byte
	for _, s := range []string{cfg.ClientSecret, cfg.Password, cfg.RefreshToken} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// Keyed returns the HMAC-SHA256 of cfg's credentials under key, as Size
// bytes in hex, or "" when cfg has no credentials.
func Keyed(key []byte, cfg tokenhelper.Config) string {
	m := material(cfg)
	if m == nil {
		return ""
	}
	h := hmac.New(sha256.New, key)
	// The key may serve another purpose too (the Worker's SIGNING_KEY
	// signs JWTs with HMAC-SHA256): no JWT's signing input holds a NUL.
	h.Write([]byte("tokenhelper fingerprint v1\x00"))
	h.Write(m)
	return hex.EncodeToString(h.Sum(nil)[:Size])
}

// Slow returns PBKDF2-HMAC-SHA256 of cfg's credentials with the given
// iterations, salted with [tokenhelper.CacheKey] of cfg, as Size bytes in
// hex, or "" when cfg has no credentials. Compute it once and keep it:
// it is meant to be slow.
func Slow(cfg tokenhelper.Config, iterations int) string {
	m := material(cfg)
	if m == nil {
		return ""
	}
	salt := "tokenhelper fingerprint v1\x00" + tokenhelper.CacheKey(cfg)
	k, err := pbkdf2.Key(sha256.New, string(m), []byte(salt), max(1, iterations), Size)
	if err != nil {
		// Unreachable: Key refuses only a key length out of range and,
		// in FIPS 140-only mode, salts and keys shorter than these.
		panic("fingerprint: " + err.Error())
	}
	return hex.EncodeToString(k)
}
