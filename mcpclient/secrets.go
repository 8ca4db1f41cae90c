package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/logfile"
)

// Secrets by value. Every header value of the config (after ${env:…}
// expansion), every ${env:…} expansion in a URL or header, every
// ${secret:…} read from the credential store, every OAuth
// token the hub holds and every client secret goes into the hub's
// logfile.Secrets set, which takes them out of everything the hub shows
// or writes — errors to IDEs, status, events, doctor, the window, the
// log — however the server that echoed them shaped the text around them.
// Values shorter than logfile.MinSecretLen are not taken (see there).

// scrub takes every known secret of this server (header values from the
// config, ${env:…} expansions, tokens, client secrets) out of text the hub
// shows or writes: errors to IDEs, status, events, log. The set is the
// hub's, so another server's secrets go too.
func (u *supervisor) scrub(s string) string { return u.secrets.Scrub(s) }

// scrubJSON is scrub for a JSON value (e.g. an error object the server
// sent, before it goes to an IDE): known secrets inside its strings become
// Redacted and the result stays valid JSON.
func (u *supervisor) scrubJSON(raw json.RawMessage) json.RawMessage {
	s := u.scrub(string(raw))
	if s == string(raw) {
		return raw
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	// A secret spanned JSON syntax (it has quotes or backslashes that
	// appear unescaped): scrub string by string instead.
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage(strconv.Quote(logfile.Redacted))
	}
	b, err := json.Marshal(u.scrubValue(v))
	if err != nil {
		return json.RawMessage(strconv.Quote(logfile.Redacted))
	}
	return b
}

func (u *supervisor) scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return u.scrub(v)
	case []any:
		for i := range v {
			v[i] = u.scrubValue(v[i])
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[u.scrub(k)] = u.scrubValue(x)
		}
		return out
	}
	return v
}

// resolve fills in the server's entry (${env:…} from the hub's
// environment, ${secret:…} from the credential store), after making its
// secret values known: they are about to be sent.
func (u *supervisor) resolve(cfg config.Server) (config.Resolved, error) {
	u.secrets.Add(config.KnownSecrets(cfg, u.env)...)
	l := config.Lookups{Server: u.name, Env: u.env}
	if u.creds != nil {
		l.Secret = u.readSecret
	}
	return cfg.ResolveWith(l)
}

// secretReadTimeout bounds reading one ${secret:…} (opening the store
// may probe the keychain first).
const secretReadTimeout = 30 * time.Second

// readSecret reads a ${secret:NAME} from the credential store and makes
// its value known before anyone sees it.
func (u *supervisor) readSecret(name string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), secretReadTimeout)
	defer cancel()
	store, err := u.creds.get(ctx)
	if err != nil {
		return "", false, err
	}
	v, err := auth.NewSecrets(store, auth.SecretsOptions{}).Get(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	u.secrets.Add(config.SecretValues(v)...)
	return v, true, nil
}

// knowCredentials makes stored credentials' secrets known.
func (u *supervisor) knowCredentials(c *auth.Credentials) {
	if c == nil {
		return
	}
	u.secrets.AddToken(c.AccessToken, c.RefreshToken)
	u.secrets.Add(c.ClientSecret)
}
