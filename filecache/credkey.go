package filecache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/fingerprint"
)

// keyFile is the name of the directory's fingerprint key.
const keyFile = "fingerprint.key"

// CredentialID returns the fingerprint of cfg's credentials (client
// secret, password, refresh token) for [tokenhelper.WithCredentialID]:
// an HMAC ([fingerprint.Keyed]) under a random key kept in the
// directory, so that a Source given another secret has other files
// while the names of the files test no guess of a secret without the key
// beside them. The key is created on first use (32 random bytes, written
// 0600 and linked into place, so that processes starting together agree
// on one), read by no one but this package, and never printed; Clear
// removes it with the tokens. "" when cfg has no credentials.
func (c *Cache) CredentialID(cfg tokenhelper.Config) (string, error) {
	key, err := c.key()
	if err != nil {
		return "", err
	}
	return fingerprint.Keyed(key, cfg), nil
}

// key reads the directory's key, creating it when there is none.
func (c *Cache) key() ([]byte, error) {
	text, err := c.keep(keyFile, func() ([]byte, error) {
		k := make([]byte, 32)
		rand.Read(k) // never fails (crypto/rand panics instead)
		return []byte(hex.EncodeToString(k)), nil
	})
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(string(text))
	if err != nil || len(k) != 32 {
		return nil, errors.New("filecache: " + filepath.Join(c.dir, keyFile) + " is not a fingerprint key (remove it, or run tokenhelper logout)")
	}
	return k, nil
}

// keep reads the directory's file name, first creating it from fresh
// when there is none.
func (c *Cache) keep(name string, fresh func() ([]byte, error)) ([]byte, error) {
	path := filepath.Join(c.dir, name)
	for range 2 {
		if b, err := os.ReadFile(path); err == nil {
			return b, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		b, err := fresh()
		if err != nil {
			return nil, err
		}
		if err := c.create(path, b); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		// Created here, or by another process first: read the one in place.
	}
	return nil, errors.New("filecache: " + path + " could not be created")
}

// create writes b into a temporary 0600 file and links it to path, which
// fails with ErrExist when another process was first: path never holds a
// partial key and is never replaced.
func (c *Cache) create(path string, b []byte) error {
	f, err := os.CreateTemp(c.dir, ".tmp-key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
}
