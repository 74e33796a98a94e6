package tokenhelper

import (
	"context"
	"strings"
	"sync"
)

// DPoPProver makes DPoP proofs (RFC 9449) with a key the caller holds:
// the seam through which this package, which holds no crypto, binds the
// tokens of a Worker to that key. Package
// github.com/tokenhelper/tokenhelper/dpop implements it (dpop.Prover).
type DPoPProver interface {
	// DPoPProof returns a fresh proof for one request: its method, its
	// URL and the access token it carries ("" for a token request). In
	// the browser the proof is made by WebCrypto, asynchronously: hence
	// the context.
	DPoPProof(ctx context.Context, method, url, accessToken string) (string, error)
	// Thumbprint names the key in the tokens' cache key (the RFC 7638
	// thumbprint, which a bound token carries as cnf.jkt), so that
	// another key never gets them.
	Thumbprint() string
}

// DPoPNonceProver is a [DPoPProver] that can also put a server's nonce
// in its proofs (RFC 9449 8 and 9): a server that answers
// use_dpop_nonce with a DPoP-Nonce header is retried once with it. A
// prover without this method gets that error back instead.
// dpop.Prover has it.
type DPoPNonceProver interface {
	DPoPProver
	// DPoPProofNonce is DPoPProof with the server's nonce ("" for none).
	DPoPProofNonce(ctx context.Context, method, url, accessToken, nonce string) (string, error)
}

// CodeUseDPoPNonce is the error of a server that wants a proof carrying
// its nonce (RFC 9449 8 and 9), sent beside a DPoP-Nonce header.
const CodeUseDPoPNonce = "use_dpop_nonce"

// DPoPProof makes a proof by p for one request, with the nonce last
// remembered for the URL's server (see [RememberDPoPNonce]) when p can
// carry one: the one place where the token request, the Go HTTP client
// and the Worker's upstream call make their proofs.
func DPoPProof(ctx context.Context, p DPoPProver, method, url, accessToken string) (string, error) {
	if np, ok := p.(DPoPNonceProver); ok {
		if n := dpopNonces.get(url); n != "" {
			return np.DPoPProofNonce(ctx, method, url, accessToken, n)
		}
	}
	return p.DPoPProof(ctx, method, url, accessToken)
}

// RememberDPoPNonce keeps the DPoP-Nonce a server sent in an answer to a
// request for url, for the next proofs to that server (RFC 9449 8: a
// server may send a fresh one with any answer). It reports whether the
// nonce is new, so that a use_dpop_nonce refusal is retried only when
// the retry carries another nonce than the refused proof.
func RememberDPoPNonce(url, nonce string) bool {
	if nonce == "" || len(nonce) > maxNonce {
		return false
	}
	return dpopNonces.put(url, nonce)
}

// maxNonce bounds a remembered nonce (RFC 9449 says nothing; servers
// send tens of characters).
const maxNonce = 512

// dpopNonces is the process's memory of servers' DPoP nonces, shared by
// every Client (the Worker makes one per route and request) and keyed
// by the server's origin: RFC 9449 8 scopes a nonce to the server that
// issued it. It is bounded: when full it starts again, which costs a
// server at most one more use_dpop_nonce answer.
var dpopNonces = nonceMemory{max: 256}

type nonceMemory struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

func (n *nonceMemory) get(url string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[originOf(url)]
}

func (n *nonceMemory) put(url, nonce string) bool {
	o := originOf(url)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m[o] == nonce {
		return false
	}
	if n.m == nil || len(n.m) >= n.max {
		n.m = make(map[string]string)
	}
	n.m[o] = nonce
	return true
}

// originOf is scheme://host[:port] of a URL, lower-cased; the whole
// string when it has no scheme.
func originOf(url string) string {
	s := url
	i := strings.Index(s, "://")
	if i < 0 {
		return strings.ToLower(s)
	}
	if j := strings.IndexAny(s[i+3:], "/?#"); j >= 0 {
		s = s[:i+3+j]
	}
	return strings.ToLower(s)
}
