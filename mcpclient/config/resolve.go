package config

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
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

// Resolved is a server entry with ${env:…} expanded.
type Resolved struct {
	URL     string
	Headers http.Header
}

func (sc Server) Resolve(lookup func(string) (string, bool)) (Resolved, error) {
	var r Resolved
	u, err := expandEnv(sc.URL, lookup)
	if err != nil {
		return r, &transport.ConfigError{Err: fmt.Errorf("url: %w", err)}
	}
	if err := checkExpandedURL(u); err != nil {
		return r, &transport.ConfigError{Err: fmt.Errorf("url %w", err)}
	}
	r.URL = u
	r.Headers = http.Header{}
	for k, v := range sc.Headers {
		ev, err := expandEnv(v, lookup)
		if err != nil {
			return r, &transport.ConfigError{Err: fmt.Errorf("header %s: %w", k, err)}
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
