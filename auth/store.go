package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps Credentials under a key (see Key). Implementations are safe
// for concurrent use, also by several processes at once.
type Store interface {
	// Load returns the credentials stored under key, or an error matching
	// ErrNotFound.
	Load(ctx context.Context, key string) (*Credentials, error)
	// Save stores c under key, replacing what was there.
	Save(ctx context.Context, key string, c *Credentials) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Name describes the store for status output, e.g. "keychain" or
	// "file /home/u/.local/state/mcptray/credentials.json".
	Name() string
}

// Credential store modes for OpenStore (the credentialStore config value).
const (
	StoreAuto    = "auto"
	StoreKeyring = "keyring"
	StoreFile    = "file"
)

// OpenStore opens the credential store that mode names:
//
//   - "keyring": the OS keychain. It is probed; when the probe fails the
//     store is returned anyway, with a warning that says why.
//   - "file": a 0600 JSON file at path (a FileStore).
//   - "auto" or "": an *AutoStore: the keychain when a probe (set, get and
//     delete of a probe entry, each bounded by opts.Timeout) succeeds, else
//     the file at path, with a warning that says why and where the
//     credentials go.
//     The AutoStore checks a keychain that is not usable again later, and
//     moves credentials from the file into the keychain once it is;
//     AutoStore.Warning has the current warning.
//
// The warning is for the user (status output, the tray); it is empty when
// all is well, and is the one at opening time. err is set only for an
// unknown mode.
func OpenStore(ctx context.Context, mode, path string, opts KeyringOptions) (Store, string, error) {
	switch mode {
	case StoreFile:
		return NewFileStore(path), "", nil
	case StoreKeyring:
		ks := NewKeyringStore(opts)
		if err := probeKeyring(ctx, ks); err != nil {
			return ks, fmt.Sprintf("the OS keychain is not usable: %v", err), nil
		}
		return ks, "", nil
	case StoreAuto, "":
		s := NewAutoStore(ctx, NewKeyringStore(opts), NewFileStore(path), AutoStoreOptions{})
		return s, s.Warning(), nil
	default:
		return nil, "", fmt.Errorf("auth: unknown credential store %q (want auto, keyring or file)", mode)
	}
}

// probeKeyring checks that the keychain answers: a set, get and delete of
// a probe entry (the OS backend's pre-check fails the set at once where
// there is no keychain to ask).
func probeKeyring(ctx context.Context, ks *KeyringStore) error {
	account := fmt.Sprintf("probe-%d-%s", time.Now().UnixNano(), randomHex(4))
	return ks.run(ctx, "probe", func(b keyringBackend) error {
		const val = "mcptray keychain probe"
		if err := b.Set(ks.service, account, val); err != nil {
			return err
		}
		got, err := b.Get(ks.service, account)
		if err != nil {
			return err
		}
		if err := b.Delete(ks.service, account); err != nil {
			return err
		}
		if got != val {
			return errors.New("the probe entry read back differently")
		}
		return nil
	})
}
