package mcpclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// Named secrets for ${secret:NAME} in the config, for the window's form
// (the CLI's `mcptray secret` opens the store itself). Values are made
// known (scrubbed) the moment they are stored.

// namedSecrets returns the named secrets of the hub's credential store.
func (h *Hub) namedSecrets(ctx context.Context) (*auth.Secrets, error) {
	h.mu.Lock()
	creds := h.creds
	h.mu.Unlock()
	if creds == nil {
		return nil, errors.New("mcptray: the hub has not started")
	}
	store, err := creds.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("mcptray: the credential store: %w", err)
	}
	return auth.NewSecrets(store, auth.SecretsOptions{LockDir: paths.AuthLocks(h.opts.Home)}), nil
}

// SetSecret stores value as the secret name, which the config refers to as
// ${secret:NAME}. Servers that use it read it when they next connect.
func (h *Hub) SetSecret(name, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), secretReadTimeout)
	defer cancel()
	s, err := h.namedSecrets(ctx)
	if err != nil {
		return err
	}
	h.secrets.Add(config.SecretValues(value)...)
	return s.Set(ctx, name, value)
}

// HasSecret reports whether the secret name is stored.
func (h *Hub) HasSecret(name string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), secretReadTimeout)
	defer cancel()
	s, err := h.namedSecrets(ctx)
	if err != nil {
		return false, err
	}
	_, err = s.Get(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
