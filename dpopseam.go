package tokenhelper

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
// remembered for the URL's server in that role (see [NoteDPoPNonce];
// accessToken "" is a token request) when p can carry one: the one place
// where the token request, the Go HTTP client and the Worker's upstream
// call make their proofs.
func DPoPProof(ctx context.Context, p DPoPProver, method, url, accessToken string) (string, error) {
	if np, ok := p.(DPoPNonceProver); ok {
		if n := dpopNonces.get(nonceKey(url, accessToken != "")); n != "" {
			return np.DPoPProofNonce(ctx, method, url, accessToken, n)
		}
	}
	return p.DPoPProof(ctx, method, url, accessToken)
}

// NoteDPoPNonce keeps nonce, the DPoP-Nonce of an answer to a request for
// url that carried proof, for the next proofs to that server (RFC 9449 8
// and 9: a server may send its next nonce with any answer); resource
// tells a resource server's nonce from an authorization server's, which
// RFC 9449 keeps apart even on one origin. It reports whether a
// use_dpop_nonce refusal of that request is worth one retry: nonce is
// one the refused proof did not carry. The proof decides, not what the
// memory held: two requests refused at once with the same new nonce both
// retry. With proof "" (the Worker's plan path: the entry module
// resends, Go no longer holds the proof) the nonce remembered for the
// server stands for the one the proof carried, so that a server that
// keeps refusing one nonce is not retried again and again.
func NoteDPoPNonce(url, proof, nonce string, resource bool) bool {
	if nonce == "" || len(nonce) > maxNonce {
		return false
	}
	key := nonceKey(url, resource)
	carried := proofNonce(proof)
	if proof == "" {
		carried = dpopNonces.get(key)
	}
	dpopNonces.put(key, nonce)
	return nonce != carried
}

// DPoPNonceChallenge reports whether one of the WWW-Authenticate values
// holds a DPoP challenge (RFC 9449 7.1) with error use_dpop_nonce: first
// or after another scheme's challenge ("Bearer realm=x, DPoP error=...").
func DPoPNonceChallenge(values ...string) bool {
	for _, v := range values {
		if !strings.Contains(v, CodeUseDPoPNonce) {
			continue
		}
		for i := 0; i+5 <= len(v); i++ {
			// A challenge begins the value or follows a comma.
			if before := strings.TrimRight(v[:i], " \t"); strings.EqualFold(v[i:i+5], "dpop ") && (before == "" || strings.HasSuffix(before, ",")) {
				return true
			}
		}
	}
	return false
}

// proofNonce is the nonce claim of a DPoP proof ("" when it has none or
// is not a JWT): read, not verified; the proof is this process's own.
func proofNonce(proof string) string {
	_, rest, ok := strings.Cut(proof, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Nonce
}

// maxNonce bounds a remembered nonce (RFC 9449 says nothing; servers
// send tens of characters).
const maxNonce = 512

// dpopNonces is the process's memory of servers' DPoP nonces, shared by
// every Client (the Worker makes one per route and request) and keyed
// by the server's origin and role (nonceKey): RFC 9449 8 scopes a nonce
// to the server that issued it. It is bounded: when full it starts
// again, which costs a server at most one more use_dpop_nonce answer.
var dpopNonces = nonceMemory{max: 256}

type nonceMemory struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

func (n *nonceMemory) get(key string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[key]
}

func (n *nonceMemory) put(key, nonce string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m[key] == nonce {
		return
	}
	if n.m == nil || len(n.m) >= n.max {
		n.m = make(map[string]string)
	}
	n.m[key] = nonce
}

// nonceKey is the memory's key of a server: its origin and role.
func nonceKey(url string, resource bool) string {
	if resource {
		return "rs " + originOf(url)
	}
	return "as " + originOf(url)
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
