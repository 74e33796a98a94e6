// Package filecache keeps tokenhelper tokens in files, shared by the
// processes of one user: a [tokenhelper.Cache] and, with a file lock, the
// [tokenhelper.Coordinator] that makes one renewal among them. The
// tokenhelper command uses it; any Go program that runs often and briefly
// (a credential helper, a cron job) can too:
//
//	c, err := filecache.Open("") // os.UserCacheDir()/tokenhelper
//	src, err := tokenhelper.NewSource(client, cfg, tokenhelper.WithCache(c), tokenhelper.WithCoordinator(c))
//
// # Files
//
// The directory is created 0700 (an existing one is tightened to 0700 and
// must belong to the user); each cache key has one file, <key>.json,
// written 0600 through a temporary file and a rename, so that a reader
// sees the old or the new entry and never half of one, and a lock file
// <key>.lock beside it. An entry holds what [tokenhelper.Token] holds:
// the access token and, when the provider gave them, the refresh and ID
// tokens. Nothing from the Config is written: not the client secret, not
// the password (a Token has no field for them). A Source bound to its
// credentials ([Cache.CredentialID], [tokenhelper.WithCredentialID]) has
// a key ending with their HMAC under fingerprint.key, a random key in the
// same directory (0600, created once), so that another secret has other
// files and the names test no guess of a secret without the key.
//
// An entry whose access token has expired is kept for its refresh token,
// which [tokenhelper.Source] then uses to renew (RFC 6749 section 6)
// instead of the full grant: Get returns it as a Token holding only the
// refresh token.
//
// # Backoff between processes
//
// A Source keeps its backoff after a failure in memory, which a command
// that runs once per invocation loses. Renew keeps it in the entry too:
// the failure's kind, code and status, how many failures in a row, and
// when the next attempt may be made ([tokenhelper.BackoffWindow]). Until
// then Renew answers, without calling renew, with the still valid token
// on disk if there is one, else with the failure repeated
// ([tokenhelper.Error.Repeated], RetryAfter the time left). A success
// clears it.
//
// # Platforms
//
// The cross-process lock is flock(2), on unix systems. Elsewhere
// (Windows, js, wasip1, plan9) Renew runs renew without it: tokens and
// the backoff are still shared through the files, but invocations that
// start at the same moment with no fresh token may each make a request.
//
// # Threat model
//
// The files are readable by every process of the user, as the user's
// ~/.netrc or cloud CLI credentials are; the tokens in them are as good
// as the secret for their lifetime. Whoever can read them can also read
// the environment or files the secret came from. They are never written
// for another user to read.
package filecache

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// Cache is a tokenhelper Cache and Coordinator over the files of one
// directory. It is safe for concurrent use, within and between processes.
type Cache struct {
	dir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logf, when set, is told what Renew decides (a renewal that failed
	// while a valid token was kept in service, say). Its messages hold
	// kinds, codes and durations, never a token.
	Logf func(format string, args ...any)
}

// entry is the content of one <key>.json.
type entry struct {
	Token   *tokenhelper.Token `json:"token,omitempty"`
	Until   time.Time          `json:"until,omitzero"`
	Failure *failure           `json:"failure,omitempty"`
}

// DefaultDir returns os.UserCacheDir()/tokenhelper ($XDG_CACHE_HOME or
// ~/.cache on Linux, ~/Library/Caches on macOS, %LocalAppData% on Windows).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "tokenhelper"), nil
}

// Open returns the Cache in dir ("" means [DefaultDir]), creating the
// directory 0700. It refuses a directory that is a symbolic link or
// belongs to another user, and tightens an existing one to 0700.
func Open(dir string) (*Cache, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() || !owned(fi) {
		return nil, errors.New("filecache: " + dir + " is not a directory of this user")
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
	}
	return &Cache{dir: dir}, nil
}

// Dir returns the directory of the files.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Cache) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Get returns the token stored under key: the whole token until the time
// Put was given, then, when it has one, a Token holding only its refresh
// token; else nil. A missing or unreadable file is no token.
func (c *Cache) Get(_ context.Context, key string) (*tokenhelper.Token, error) {
	e := c.read(key)
	switch {
	case e.Token == nil:
		return nil, nil
	case e.Until.IsZero() || c.now().Before(e.Until):
		return e.Token, nil
	case e.Token.RefreshToken != "":
		return &tokenhelper.Token{RefreshToken: e.Token.RefreshToken}, nil
	}
	return nil, nil
}

// Put stores tok under key until the given time, and clears the failure
// kept there: a Source puts only what it obtained.
func (c *Cache) Put(_ context.Context, key string, tok *tokenhelper.Token, until time.Time) error {
	return c.write(key, entry{Token: tok, Until: until})
}

// Delete removes the entry, its failure with it.
func (c *Cache) Delete(_ context.Context, key string) error {
	err := os.Remove(c.path(key, ".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Clear removes the directory and everything in it (the command's
// logout), reporting how many entries it held.
func (c *Cache) Clear() (int, error) {
	names, _ := filepath.Glob(filepath.Join(c.dir, "*.json"))
	return len(names), os.RemoveAll(c.dir)
}

// path is the file of key with the given suffix. Keys made of letters,
// digits, '-' and '_' (tokenhelper's are) name their files; any other is
// hashed, so that no key reaches outside the directory.
func (c *Cache) path(key, suffix string) string {
	if !safeName(key) {
		h := fnv.New128a()
		h.Write([]byte(key))
		key = "k-" + hex.EncodeToString(h.Sum(nil))
	}
	return filepath.Join(c.dir, key+suffix)
}

func safeName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// read returns key's entry; a missing or unreadable file is an empty one
// (a cache may lose entries at any time).
func (c *Cache) read(key string) entry {
	var e entry
	b, err := os.ReadFile(c.path(key, ".json"))
	if err != nil || json.Unmarshal(b, &e) != nil {
		return entry{}
	}
	return e
}

// write replaces key's entry atomically: a temporary file (created 0600)
// in the same directory, then a rename over the old one.
func (c *Cache) write(key string, e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return c.writeFile(c.path(key, ".json"), b)
}

// writeFile replaces the file at path atomically, as write says.
func (c *Cache) writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// valid reports whether the entry holds an access token that has not
// expired at now.
func (e entry) valid(now time.Time) bool {
	return e.Token != nil && e.Token.AccessToken != "" && now.Before(e.Token.Expiry)
}
