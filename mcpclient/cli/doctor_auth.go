package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// doctorAuth answers doctor's credential questions with the auth package:
// the store the config selects (probing the keychain) and each server's
// stored login, without printing any secret.
type doctorAuth struct {
	store auth.Store
	known *logfile.Secrets // gets the stored tokens and client secret
}

func (a *doctorAuth) CredentialStore(ctx context.Context, setting string) (backend, warning string, err error) {
	home, err := paths.Home()
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, warning, err := auth.OpenStore(ctx, setting, paths.Credentials(home), auth.KeyringOptions{})
	if err != nil {
		return "", "", err
	}
	a.store = st
	return st.Name(), warning, nil
}

func (a *doctorAuth) LoginState(ctx context.Context, server string, sc config.Server) (string, error) {
	if a.store == nil {
		return "", errors.New("no credential store")
	}
	resource := ""
	if sc.OAuth != nil {
		resource = sc.OAuth.Resource
	}
	url, err := config.ExpandURL(sc, os.LookupEnv)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := a.store.Load(ctx, auth.Key(url, resource))
	if errors.Is(err, auth.ErrNotFound) {
		return "not signed in (no stored credentials)", nil
	}
	if err != nil {
		return "", err
	}
	a.known.AddToken(c.AccessToken, c.RefreshToken)
	a.known.Add(c.ClientSecret)
	switch {
	case c.AccessToken == "" && c.RefreshToken == "":
		return "registered with the authorization server, not signed in", nil
	case c.RefreshToken != "":
		return fmt.Sprintf("signed in (access token valid until %s, refresh token stored)", c.Expiry.Local().Format(time.RFC3339)), nil
	case !c.Expiry.IsZero() && time.Now().After(c.Expiry):
		return "signed in, but the access token expired and there is no refresh token: run `mcptray login " + server + "`", nil
	}
	return "signed in", nil
}
