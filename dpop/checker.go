package dpop

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of [Checker.Check]. Every refusal of a proof wraps ErrInvalidProof;
// ErrReplayed also does.
var (
	ErrInvalidProof = errors.New("dpop: invalid proof")
	ErrReplayed     = fmt.Errorf("%w: jti already used", ErrInvalidProof)
	// ErrBusy: the replay memory is full of proofs still within their
	// window, so a new one cannot be remembered; the proof is not
	// accepted (failing closed) and the caller should answer 503.
	ErrBusy = errors.New("dpop: too many recent proofs to remember")
)

// Defaults of a [Checker].
const (
	DefaultMaxAge  = 2 * time.Minute
	DefaultSkew    = time.Minute
	DefaultMaxSeen = 1 << 16
	// MaxProofSize bounds a proof before it is parsed.
	MaxProofSize = 4096
)

// Algs are the proof algorithms a Checker accepts, for the algs parameter
// of a WWW-Authenticate: DPoP challenge.
const Algs = "ES256 EdDSA"

// Checker verifies DPoP proofs and remembers their jti for the window in
// which their iat is accepted, so that each is accepted once. Its memory
// is this process's (an isolate's): a proof replayed to another process
// within the window is not recognised as a replay there. The zero value
// is ready; it is safe for concurrent use.
type Checker struct {
	// MaxAge is how old an iat may be (default 2 minutes); Skew how far
	// in the future (default 1 minute), for the client's clock.
	MaxAge, Skew time.Duration
	// MaxSeen bounds the jti memory (default 65536 entries, about 4 MB).
	MaxSeen int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu   sync.Mutex
	seen map[[32]byte]time.Time // hash of jkt and jti -> when it may be forgotten
}

// Proof is what a checked proof says.
type Proof struct {
	// JKT is the RFC 7638 thumbprint of the proof's key.
	JKT string
	// JTI and IssuedAt are the proof's jti and iat.
	JTI      string
	IssuedAt time.Time
	// Nonce is the proof's nonce claim ("" when absent): a server that
	// hands out DPoP-Nonce values compares it with one of its own (RFC
	// 9449 8, 9).
	Nonce string
}

// Check verifies proof for a request with method and URL (its query and
// fragment are ignored) carrying accessToken ("" at a token endpoint,
// where no ath is checked), and remembers its jti. It returns the proof's
// key thumbprint; the caller compares it with the token's cnf.jkt.
func (c *Checker) Check(proof, method, rawURL, accessToken string) (*Proof, error) {
	return c.CheckAt(c.now(), proof, method, rawURL, accessToken)
}

// CheckAt is Check at the time now, for a Checker shared by handlers
// with their own clocks.
func (c *Checker) CheckAt(now time.Time, proof, method, rawURL, accessToken string) (*Proof, error) {
	if proof == "" || len(proof) > MaxProofSize {
		return nil, fmt.Errorf("%w: missing or over %d bytes", ErrInvalidProof, MaxProofSize)
	}
	want, err := normalizeHTU(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	var jkt string
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"ES256", "EdDSA"}), jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(proof, claims, func(t *jwt.Token) (any, error) {
			if typ, _ := t.Header["typ"].(string); typ != "dpop+jwt" {
				return nil, errors.New(`typ is not "dpop+jwt"`)
			}
			key, alg, thumb, err := parseJWK(t.Header["jwk"])
			if err != nil {
				return nil, err
			}
			if alg != t.Method.Alg() {
				return nil, errors.New("the jwk does not fit alg")
			}
			jkt = thumb
			return key, nil
		})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	if htm := str("htm"); htm != method {
		return nil, fmt.Errorf("%w: htm is not %s", ErrInvalidProof, method)
	}
	if htu, err := normalizeHTU(str("htu")); err != nil || htu != want {
		return nil, fmt.Errorf("%w: htu is not this URL", ErrInvalidProof)
	}
	if accessToken != "" && subtle.ConstantTimeCompare([]byte(str("ath")), []byte(ath(accessToken))) != 1 {
		return nil, fmt.Errorf("%w: ath is not the hash of this access token", ErrInvalidProof)
	}
	jti := str("jti")
	if jti == "" || len(jti) > 256 {
		return nil, fmt.Errorf("%w: jti missing or too long", ErrInvalidProof)
	}
	iatNum, ok := claims["iat"].(float64)
	if !ok {
		return nil, fmt.Errorf("%w: iat missing", ErrInvalidProof)
	}
	iat := time.Unix(int64(iatNum), 0)
	maxAge, skew := c.MaxAge, c.Skew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	if iat.Before(now.Add(-maxAge)) || iat.After(now.Add(skew)) {
		return nil, fmt.Errorf("%w: iat outside the accepted window", ErrInvalidProof)
	}
	if err := c.remember(jkt, jti, iat.Add(maxAge), now); err != nil {
		return nil, err
	}
	return &Proof{JKT: jkt, JTI: jti, IssuedAt: iat, Nonce: str("nonce")}, nil
}

// remember records jkt's jti until forget, refusing one already seen.
func (c *Checker) remember(jkt, jti string, forget, now time.Time) error {
	key := sha256.Sum256([]byte(jkt + "\x00" + jti))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[[32]byte]time.Time{}
	}
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return ErrReplayed
	}
	limit := c.MaxSeen
	if limit <= 0 {
		limit = DefaultMaxSeen
	}
	if len(c.seen) >= limit {
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
		// Never forget a proof still in its window: that would let it be
		// replayed. Refuse new ones instead until some expire.
		if len(c.seen) >= limit {
			return ErrBusy
		}
	}
	c.seen[key] = forget
	return nil
}

func (c *Checker) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}
