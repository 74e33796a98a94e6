package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// errPEM says what a DPoP key must be, never what the text held.
var errPEM = errors.New("dpop: the key must be a PEM private key, EC P-256 or Ed25519 (PKCS #8 or SEC 1)")

// ParsePEM returns a Prover for a PEM private key: EC P-256 (ES256) or
// Ed25519 (EdDSA), in PKCS #8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE
// KEY") form: a key a program, the command or a Worker keeps so that
// its tokens stay good across processes or isolates. Its errors never
// quote the key.
func ParsePEM(text []byte) (*Prover, error) {
	b, _ := pem.Decode(text)
	if b == nil {
		return nil, errPEM
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, errPEM
	}
	s, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil, errPEM
	}
	p, err := NewProver(s)
	if err != nil {
		return nil, errPEM
	}
	return p, nil
}

// GeneratePEM returns a new P-256 private key in PKCS #8 PEM, for
// ParsePEM: what the command keeps in its 0600 cache directory.
func GeneratePEM() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
