package main

import (
	"errors"
	"flag"
	"os"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper"
	"github.com/tokenhelper/tokenhelper/assertion"
	"github.com/tokenhelper/tokenhelper/dpop"
)

// setting is one configuration value: the environment variable (after
// the TOKENHELPER_ or TOKENHELPER_<PROFILE>_ prefix), the flag, and the
// Config field whose errors name it. A secret's flag names a file, never
// the value: command lines are visible to every user in ps.
type setting struct {
	name   string // TOKEN_URL
	flag   string // token-url, or client-secret-file for a secret
	field  string // the tokenhelper.Error Field it answers for
	secret bool
	// list: the flag may be repeated, the variable is space-separated.
	list bool
	help string
}

// settings is the one table of the command's settings: flags, the
// environment, error messages and the help are made from it. Names follow
// the worker's (worker/config.go) with the prefix, TOKEN_PROVIDER and
// TOKEN_ENCODING shortened to PROVIDER and ENCODING.
var settings = []setting{
	{name: "PROVIDER", flag: "provider", field: "Provider", help: "profile id (see tokenhelper providers), or custom"},
	{name: "TOKEN_URL", flag: "token-url", field: "TokenURL", help: "token endpoint, replacing the profile's (https, http only on loopback)"},
	{name: "ENCODING", flag: "encoding", field: "Encoding", help: "custom only: multipart, form (default) or json"},
	{name: "ISSUER", flag: "issuer", field: "Issuer", help: "custom only: the issuer; without a token URL the endpoint is discovered from its metadata (RFC 8414, OpenID Connect Discovery), kept an hour in the cache directory"},
	{name: "AUTH", flag: "auth", field: "AuthStyle", help: "custom only: client credentials in the body (default) or basic, or a signed client assertion: private_key_jwt or client_secret_jwt"},
	{name: "GRANT_TYPE", flag: "grant-type", field: "GrantType", help: "client_credentials (default) or password"},
	{name: "CLIENT_ID", flag: "client-id", field: "ClientID", help: "client id"},
	{name: "CLIENT_SECRET", flag: "client-secret-file", field: "ClientSecret", secret: true, help: "client secret (the flag names a file holding it)"},
	{name: "CLIENT_ASSERTION_KEY", flag: "client-assertion-key-file", field: "Assertion", secret: true, help: "private_key_jwt: a PEM private key, RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA) (the flag names a file holding it)"},
	{name: "CLIENT_ASSERTION_KID", flag: "client-assertion-kid", help: "private_key_jwt: the kid of the key, put in each assertion's header"},
	{name: "USERNAME", flag: "username", field: "Username", help: "password grant: the user"},
	{name: "PASSWORD", flag: "password-file", field: "Password", secret: true, help: "password grant: the password (the flag names a file)"},
	{name: "SCOPE", flag: "scope", field: "Scope", help: "scope, replacing the profile's (Alphaus: openid)"},
	{name: "AUDIENCE", flag: "audience", field: "Audience", help: "audience, replacing the profile's (required by Alluvial)"},
	{name: "RESOURCE", flag: "resource", field: "Resource", list: true, help: "RFC 8707 resource indicator, an absolute URI (repeat the flag, or space-separate them in the variable)"},
	{name: "DPOP", flag: "dpop", field: "DPoP", help: "custom or worker: on binds the tokens to a DPoP key (RFC 9449), kept 0600 in the cache directory; such a token works only with a proof, so token prints a request's two headers (--url) instead of the token alone"},
	{name: "DPOP_KEY", flag: "dpop-key-file", secret: true, help: "with DPOP on: the key, a PEM EC P-256 or Ed25519 private key, instead of the cache directory's (the flag names a file)"},
	{name: "WORKER", flag: "worker", field: "URL", help: "a tokenhelper worker's token URL: get tokens from it instead of a provider"},
	{name: "ORIGIN", flag: "origin", help: "worker mode: the Origin sent, one of the worker's ALLOWED_ORIGINS"},
	{name: "CALLER_TOKEN", flag: "caller-token-file", secret: true, help: "worker mode: a caller JWT for a worker with the caller gate (the flag names a file)"},
	{name: "CALLER_HEADER", flag: "caller-header", help: "worker mode: the header carrying it (default Authorization, as Bearer)"},
}

// envPrefix is the prefix of every variable, TOKENHELPER_PROFILE aside.
const envPrefix = "TOKENHELPER_"

// options are the flags common to token and request.
type options struct {
	fs      *flag.FlagSet
	profile *string
	values  map[string]*string // by setting name
	noCache *bool
	verbose *bool
	timeout *time.Duration
}

// configFlags registers the settings' flags on fs.
func configFlags(fs *flag.FlagSet) *options {
	o := &options{fs: fs, values: map[string]*string{}}
	o.profile = fs.String("profile", "", "read TOKENHELPER_<PROFILE>_* instead of TOKENHELPER_* (also TOKENHELPER_PROFILE)")
	for _, s := range settings {
		if !s.list {
			o.values[s.name] = fs.String(s.flag, "", s.help)
			continue
		}
		v := new(string)
		o.values[s.name] = v
		fs.Func(s.flag, s.help, func(item string) error {
			if item = strings.TrimSpace(item); item == "" || strings.ContainsAny(item, " \t\r\n") {
				return errors.New("one value a flag, without spaces")
			}
			*v = strings.TrimSpace(*v + " " + item)
			return nil
		})
	}
	o.noCache = fs.Bool("no-cache", false, "neither read nor write the token cache")
	o.verbose = fs.Bool("v", false, "say on stderr where the token came from (never a secret)")
	o.timeout = fs.Duration("timeout", time.Minute, "the longest to wait for a token, another invocation's renewal included")
	return o
}

// resolved is what the settings ask for: a provider Config or a worker.
type resolved struct {
	prefix string // TOKENHELPER_ or TOKENHELPER_<PROFILE>_
	cfg    tokenhelper.Config
	worker *tokenhelper.WorkerConfig
	// dpop: DPOP is on; prover is the key, DPOP_KEY's, or the cache
	// directory's once obtain has bound it.
	dpop   bool
	prover *dpop.Prover
}

// resolve reads the settings: a flag that was given, else the variable.
// Errors are ErrConfig *tokenhelper.Errors whose Field is a Config field
// or, for what has none, the variable's name after the prefix.
func (o *options) resolve(getenv func(string) string) (*resolved, error) {
	profile := *o.profile
	if profile == "" {
		profile = getenv(envPrefix + "PROFILE")
	}
	r := &resolved{prefix: envPrefix}
	if profile != "" {
		p := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(profile), "-", "_"))
		if strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
			return r, &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: "PROFILE",
				Description: "must be letters, digits, - and _"}
		}
		r.prefix += p + "_"
	}
	given := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	v := map[string]string{}
	for _, s := range settings {
		val := getenv(r.prefix + s.name)
		if given[s.flag] {
			val = *o.values[s.name]
			if s.secret {
				b, err := os.ReadFile(val)
				if err != nil {
					return r, configErr(s, "is to come from --"+s.flag+", whose file cannot be read")
				}
				val = strings.TrimRight(string(b), "\r\n")
			}
		}
		if !s.secret {
			val = strings.TrimSpace(val)
		}
		v[s.name] = val
	}
	switch {
	case v["WORKER"] == "" && v["PROVIDER"] == "" && v["TOKEN_URL"] == "" && v["ISSUER"] == "":
		return r, configErr(settingNamed("PROVIDER"), "is required (or "+r.prefix+"TOKEN_URL or "+r.prefix+"ISSUER for a custom endpoint, or "+r.prefix+"WORKER)")
	case v["WORKER"] != "" && (v["PROVIDER"] != "" || v["TOKEN_URL"] != "" || v["ISSUER"] != ""):
		return r, configErr(settingNamed("WORKER"), "is set with a provider: choose "+r.prefix+"WORKER or "+r.prefix+"PROVIDER/TOKEN_URL")
	}
	switch strings.ToLower(v["DPOP"]) {
	case "", "off", "false", "0":
		if v["DPOP_KEY"] != "" {
			return r, configErr(settingNamed("DPOP_KEY"), "is set without "+r.prefix+"DPOP=on")
		}
	case "on", "true", "1":
		r.dpop = true
		if k := v["DPOP_KEY"]; k != "" {
			var err error
			if r.prover, err = dpop.ParsePEM([]byte(k)); err != nil {
				return r, configErr(settingNamed("DPOP_KEY"), "must be a PEM private key, EC P-256 or Ed25519")
			}
		}
	default:
		return r, configErr(settingNamed("DPOP"), `must be "on" or "off"`)
	}
	if v["WORKER"] != "" {
		r.worker = &tokenhelper.WorkerConfig{URL: v["WORKER"], Origin: v["ORIGIN"]}
		if t := v["CALLER_TOKEN"]; t != "" {
			h := v["CALLER_HEADER"]
			if h == "" || strings.EqualFold(h, "Authorization") {
				h, t = "Authorization", "Bearer "+t
			}
			r.worker.Header = map[string]string{h: t}
		}
		return r, nil
	}
	r.cfg = tokenhelper.Config{
		Provider: v["PROVIDER"], TokenURL: v["TOKEN_URL"], Issuer: v["ISSUER"], GrantType: v["GRANT_TYPE"],
		ClientID: v["CLIENT_ID"], ClientSecret: v["CLIENT_SECRET"],
		Username: v["USERNAME"], Password: v["PASSWORD"],
		Scope: v["SCOPE"], Audience: v["AUDIENCE"], Resource: strings.Fields(v["RESOURCE"]),
	}
	var err error
	if r.cfg.Encoding, err = tokenhelper.ParseEncoding(v["ENCODING"]); err != nil {
		return r, err
	}
	if r.cfg.AuthStyle, err = tokenhelper.ParseAuthStyle(v["AUTH"]); err != nil {
		return r, err
	}
	if err = r.signer(v); err != nil {
		return r, err
	}
	rc, err := r.cfg.Resolved()
	if err == nil && r.dpop && rc.Provider != tokenhelper.ProviderCustom {
		err = configErr(settingNamed("DPOP"), "is for custom providers and workers only: "+rc.Provider+" does not take DPoP proofs")
	}
	return r, err
}

// signer sets the Config's assertion signer for private_key_jwt (from the
// key) and client_secret_jwt (from the secret). Its errors say what is
// wrong with the key, never what it holds.
func (r *resolved) signer(v map[string]string) error {
	var err error
	switch r.cfg.AuthStyle {
	case tokenhelper.AuthPrivateKeyJWT:
		if v["CLIENT_ASSERTION_KEY"] == "" {
			return configErr(settingNamed("CLIENT_ASSERTION_KEY"), "is required by private_key_jwt")
		}
		if r.cfg.Assertion, err = assertion.For(r.cfg, []byte(v["CLIENT_ASSERTION_KEY"]), v["CLIENT_ASSERTION_KID"]); err != nil {
			return configErr(settingNamed("CLIENT_ASSERTION_KEY"), "must be a PEM private key: RSA of 2048 bits or more, EC P-256, P-384 or P-521, or Ed25519")
		}
	case tokenhelper.AuthClientSecretJWT:
		if r.cfg.ClientSecret == "" {
			return nil // Resolved says it is required
		}
		if r.cfg.Assertion, err = assertion.For(r.cfg, nil, ""); err != nil {
			return configErr(settingNamed("CLIENT_SECRET"), "must be at least 32 bytes for client_secret_jwt (RFC 7518 3.2)")
		}
	}
	return nil
}

func settingNamed(name string) setting {
	for _, s := range settings {
		if s.name == name {
			return s
		}
	}
	panic("tokenhelper: no setting " + name)
}

// configErr is an ErrConfig error about s.
func configErr(s setting, desc string) *tokenhelper.Error {
	f := s.field
	if f == "" {
		f = s.name
	}
	return &tokenhelper.Error{Kind: tokenhelper.ErrConfig, Code: tokenhelper.CodeConfig, Field: f, Description: desc}
}

// varFor names the variable of a Config field (or of a setting without
// one), as the worker's fieldVars does for its own names. RefreshToken
// has no variable: only the grant type asks for one.
func varFor(field, prefix string) string {
	if field == "RefreshToken" {
		field = "GrantType"
	}
	for _, s := range settings {
		if s.field == field || s.name == field {
			return prefix + s.name
		}
	}
	if field == "PROFILE" {
		return envPrefix + "PROFILE"
	}
	return ""
}
