// Package assertion signs the client assertions of private_key_jwt and
// client_secret_jwt client authentication (RFC 7523 section 2.2, OpenID
// Connect Core section 9) with golang-jwt: a [*Signer] is the
// tokenhelper.AssertionSigner of a Config. It lives apart from package
// tokenhelper so that the browser's WebAssembly, which imports only the
// core, carries no cryptography; the command and the Worker import it.
package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tokenhelper/tokenhelper"
)

// Signer signs client assertions with one key. Its errors never hold key
// material.
type Signer struct {
	method jwt.SigningMethod
	key    any
	kid    string
}

var _ tokenhelper.AssertionSigner = (*Signer)(nil)

// ErrKey is returned for a key that cannot sign client assertions.
var ErrKey = errors.New("assertion: the key must be a PEM RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519 private key")

// MinSecret is the shortest client secret HS256 accepts: RFC 7518 3.2
// wants a key of at least the hash's size, 32 bytes.
const MinSecret = 32

// ParsePrivateKey reads a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1
// EC) for private_key_jwt: RSA signs RS256, EC ES256 (P-256), ES384 or
// ES512, Ed25519 EdDSA. kid, if not empty, is put in each assertion's
// header, for servers that hold more than one key of the client.
func ParsePrivateKey(pemBytes []byte, kid string) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, ErrKey
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, ErrKey
	}
	if err != nil {
		return nil, ErrKey // x509's text says nothing of the key, but it is no help either
	}
	s := &Signer{key: key, kid: kid}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, ErrKey
		}
		s.method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			s.method = jwt.SigningMethodES256
		case elliptic.P384():
			s.method = jwt.SigningMethodES384
		case elliptic.P521():
			s.method = jwt.SigningMethodES512
		default:
			return nil, ErrKey
		}
	case ed25519.PrivateKey:
		s.method = jwt.SigningMethodEdDSA
	default:
		return nil, ErrKey
	}
	return s, nil
}

// HS256 signs client_secret_jwt assertions with the client secret.
func HS256(secret string) (*Signer, error) {
	if len(secret) < MinSecret {
		return nil, errors.New("assertion: client_secret_jwt needs a client secret of at least 32 bytes (RFC 7518 3.2)")
	}
	return &Signer{method: jwt.SigningMethodHS256, key: []byte(secret)}, nil
}

// For returns the signer cfg's AuthStyle needs: for private_key_jwt one
// of keyPEM (see [ParsePrivateKey]), for client_secret_jwt one of
// cfg.ClientSecret, for the other styles nil.
func For(cfg tokenhelper.Config, keyPEM []byte, kid string) (tokenhelper.AssertionSigner, error) {
	switch cfg.AuthStyle {
	case tokenhelper.AuthPrivateKeyJWT:
		return ParsePrivateKey(keyPEM, kid)
	case tokenhelper.AuthClientSecretJWT:
		return HS256(cfg.ClientSecret)
	}
	return nil, nil
}

// CredentialMaterial returns what tells this signer's key from another
// without being secret: the public key (PKIX DER) of a private_key_jwt
// key, nil for HS256, whose key is the Config's ClientSecret already. A
// credential fingerprint (package fingerprint) can take it in, so that a
// rotated or wrong key is not handed the token cached with the right one.
func (s *Signer) CredentialMaterial() []byte {
	signer, ok := s.key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil
	}
	return der
}

// Alg returns the JWS algorithm the signer uses.
func (s *Signer) Alg() string { return s.method.Alg() }

// SignJWT implements tokenhelper.AssertionSigner: claims (a JSON object,
// see tokenhelper.AssertionClaims) as a compact JWS.
func (s *Signer) SignJWT(claims []byte) (string, error) {
	h := map[string]string{"alg": s.method.Alg(), "typ": "JWT"}
	if s.kid != "" {
		h["kid"] = s.kid
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hb) + "." + enc.EncodeToString(claims)
	sig, err := s.method.Sign(signing, s.key)
	if err != nil {
		return "", errors.New("assertion: signing failed")
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
