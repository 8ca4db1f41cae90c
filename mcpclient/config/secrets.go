package config

import (
	"net/http"
	"net/url"
	"strings"
)

// notSecretHeaders are header names whose values are not credentials:
// "application/json" must not be scrubbed out of every log line.
var notSecretHeaders = map[string]bool{
	"Accept": true, "Accept-Language": true, "Content-Type": true, "User-Agent": true,
}

// KnownSecrets lists the secret values of a server entry, for a
// logfile.Secrets set: each header value as sent (with ${env:…} expanded)
// and, for "Scheme credential", the credential alone; each ${env:…}
// expansion in the URL and the headers; a password in the URL; the OAuth
// client secret. Variables lookup does not know are skipped, and so are
// values with a ${secret:…}: who reads the secret adds its value.
func KnownSecrets(sc Server, lookup func(string) (string, bool)) []string {
	var out []string
	expand := func(s string) string {
		return envRefRE.ReplaceAllStringFunc(s, func(m string) string {
			v, _ := lookup(envRefRE.FindStringSubmatch(m)[1])
			out = append(out, v)
			return v
		})
	}
	if u, err := url.Parse(expand(sc.URL)); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for k, v := range sc.Headers {
		if notSecretHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		ev := expand(v)
		if secretRefRE.MatchString(ev) {
			// The secrets' values are the resolver's to add (see
			// SecretValues); the reference itself is not secret.
			continue
		}
		out = append(out, SecretValues(ev)...)
	}
	if sc.OAuth != nil {
		out = append(out, sc.OAuth.ClientSecret, expand(sc.OAuth.ClientSecret))
	}
	return out
}

// SecretValues are the values to scrub for a secret value v: v, and for
// "Scheme credential" the credential alone (servers may echo a Bearer
// token without its scheme).
func SecretValues(v string) []string {
	out := []string{v}
	if f := strings.Fields(v); len(f) == 2 {
		out = append(out, f[1])
	}
	return out
}
