package filecache

import (
	"errors"
	"path/filepath"

	"github.com/tokenhelper/tokenhelper/dpop"
)

// dpopKeyFile is the name of the directory's DPoP key.
const dpopKeyFile = "dpop.pem"

// DPoPProver returns a prover with the directory's DPoP key (RFC 9449),
// a P-256 key made on first use and written 0600 like the fingerprint
// key, so that the invocations of one user share it and the tokens
// bound to it. Clear (tokenhelper logout) removes it with the tokens.
// Whoever can read the directory can use them: the key protects a token
// copied elsewhere (a log, a shell history, another machine), not a
// token read here.
func (c *Cache) DPoPProver() (*dpop.Prover, error) {
	text, err := c.keep(dpopKeyFile, dpop.GeneratePEM)
	if err != nil {
		return nil, err
	}
	p, err := dpop.ParsePEM(text)
	if err != nil {
		return nil, errors.New("filecache: " + filepath.Join(c.dir, dpopKeyFile) + " is not a DPoP key (remove it, or run tokenhelper logout)")
	}
	return p, nil
}
