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
// client secret. Variables lookup does not know are skipped.
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
		out = append(out, ev)
		if f := strings.Fields(ev); len(f) == 2 {
			out = append(out, f[1]) // "Bearer TOKEN": servers may echo TOKEN alone
		}
	}
	if sc.OAuth != nil {
		out = append(out, sc.OAuth.ClientSecret, expand(sc.OAuth.ClientSecret))
	}
	return out
}
