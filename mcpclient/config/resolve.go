package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/transport"
)

// checkExpandedURL checks a URL with nothing left to expand.
func checkExpandedURL(raw string) error {
	if strings.Contains(raw, "${") {
		return fmt.Errorf("has an unexpanded variable (write ${env:NAME}) in %q", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must start with https:// or http:// (got %q)", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host (got %q)", raw)
	}
	return nil
}

var envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${env:VAR}; an unset variable is an error naming it.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var missing []string
	out := envRefRE.ReplaceAllStringFunc(s, func(m string) string {
		name := envRefRE.FindStringSubmatch(m)[1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", missing[0])
	}
	return out, nil
}

// Resolved is a server entry with its references (${env:…},
// ${secret:…}) filled in.
type Resolved struct {
	URL     string
	Headers http.Header
}

// secretRefRE matches ${secret:NAME}; the name is checked by
// checkSecretRefs (the same rule as auth.CheckSecretName).
var (
	secretRefRE  = regexp.MustCompile(`\$\{secret:([^}]*)\}`)
	secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// checkSecretRefs reports a ${secret:…} whose name is not valid.
func checkSecretRefs(s string) error {
	for _, m := range secretRefRE.FindAllStringSubmatch(s, -1) {
		if !secretNameRE.MatchString(m[1]) {
			return fmt.Errorf("${secret:%s} does not name a secret: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", m[1])
		}
	}
	return nil
}

// SecretRefs lists the secret names an entry's url and headers refer to,
// sorted, each once.
func SecretRefs(sc Server) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		for _, m := range secretRefRE.FindAllStringSubmatch(s, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	add(sc.URL)
	for _, v := range sc.Headers {
		add(v)
	}
	sort.Strings(out)
	return out
}

var secretNameBadRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SecretNameFor is the name mcptray gives the secret that holds part (a
// variable or a header name) of server: "SERVER-PART", with other
// characters than letters, digits, '.', '_' and '-' made '-', at most 128
// bytes.
func SecretNameFor(server, part string) string {
	n := strings.TrimLeft(secretNameBadRE.ReplaceAllString(server+"-"+part, "-"), "._-")
	if len(n) > 128 {
		n = n[:128]
	}
	if n == "" {
		n = "secret"
	}
	return n
}

// SecretRef is the reference to the secret name, as the config writes it.
func SecretRef(name string) string { return "${secret:" + name + "}" }

// Lookups fill in the references of a server entry.
type Lookups struct {
	// Server is the entry's name, for errors.
	Server string
	// Env reads ${env:VAR}; nil means no variable is set.
	Env func(string) (string, bool)
	// Secret reads ${secret:NAME} from the credential store: ok is false
	// for a secret that is not stored; err is a store that could not be
	// read (retrying may help). nil means there is no store to read.
	Secret func(name string) (value string, ok bool, err error)
}

// MissingSecretError is a ${secret:NAME} whose secret is not stored.
// Retrying does not help until it is set (it is wrapped in a
// transport.ConfigError).
type MissingSecretError struct {
	Server, Name string
	NoStore      bool // there was no credential store to read
}

func (e *MissingSecretError) Error() string {
	where := ""
	if e.Server != "" {
		where = fmt.Sprintf("server %q uses ", e.Server)
	}
	if e.NoStore {
		return fmt.Sprintf("%s${secret:%s}, but no credential store is available to read it from", where, e.Name)
	}
	return fmt.Sprintf("%ssecret %q, which is not set: set it with `mcptray secret set %s`", where, e.Name, e.Name)
}

// refRE matches ${env:VAR} and ${secret:NAME}, for one pass over a value:
// what a reference expands to is never expanded again.
var refRE = regexp.MustCompile(`\$\{(?:env:([A-Za-z_][A-Za-z0-9_]*)|secret:([^}]*))\}`)

// expand fills in ${env:…} and ${secret:…}.
func (l Lookups) expand(s string) (string, error) {
	var firstErr error
	fail := func(err error) string {
		if firstErr == nil {
			firstErr = err
		}
		return ""
	}
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := refRE.FindStringSubmatch(m)
		if sub[1] != "" {
			if l.Env != nil {
				if v, ok := l.Env(sub[1]); ok {
					return v
				}
			}
			return fail(&transport.ConfigError{Err: fmt.Errorf("environment variable %s is not set", sub[1])})
		}
		name := sub[2]
		switch {
		case !secretNameRE.MatchString(name):
			return fail(&transport.ConfigError{Err: checkSecretRefs(m)})
		case l.Secret == nil:
			return fail(&transport.ConfigError{Err: &MissingSecretError{Server: l.Server, Name: name, NoStore: true}})
		}
		v, ok, err := l.Secret(name)
		switch {
		case err != nil:
			return fail(fmt.Errorf("reading secret %q: %w", name, err))
		case !ok:
			return fail(&transport.ConfigError{Err: &MissingSecretError{Server: l.Server, Name: name}})
		}
		return v
	})
	return out, firstErr
}

// Resolve fills in ${env:VAR} with lookup; a ${secret:…} is an error (see
// ResolveWith).
func (sc Server) Resolve(lookup func(string) (string, bool)) (Resolved, error) {
	return sc.ResolveWith(Lookups{Env: lookup})
}

// ResolveWith fills in the entry's references. A reference that cannot
// be filled in is a *transport.ConfigError, but for a secret store that
// could not be read.
func (sc Server) ResolveWith(l Lookups) (Resolved, error) {
	var r Resolved
	wrap := func(what string, err error) error {
		var ce *transport.ConfigError
		if errors.As(err, &ce) {
			return &transport.ConfigError{Err: fmt.Errorf("%s: %w", what, ce.Err)}
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	u, err := l.expand(sc.URL)
	if err != nil {
		return r, wrap("url", err)
	}
	if err := checkExpandedURL(u); err != nil {
		return r, &transport.ConfigError{Err: fmt.Errorf("url %w", err)}
	}
	r.URL = u
	r.Headers = http.Header{}
	for k, v := range sc.Headers {
		ev, err := l.expand(v)
		if err != nil {
			return r, wrap("header "+k, err)
		}
		if strings.ContainsAny(ev, "\r\n") {
			return r, &transport.ConfigError{Err: fmt.Errorf("header %s contains a line break after expansion", k)}
		}
		r.Headers.Set(k, ev)
	}
	return r, nil
}

func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA bundle: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("no PEM certificate found in %s", path)
	}
	return pool, nil
}

// ExpandURL returns a server's URL with ${env:VAR} expanded.
func ExpandURL(sc Server, lookup func(string) (string, bool)) (string, error) {
	r, err := sc.Resolve(lookup)
	return r.URL, err
}
