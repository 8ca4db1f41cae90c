package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/mcptray/mcptray/auth/flock"
)

// Named static secrets (an API key, a Bearer token) that the config
// refers to as ${secret:NAME}. They live in the same Store as the OAuth
// credentials — the keychain, or the 0600 file — so an AutoStore's
// fallback and migration apply to them too. A secret's entry is keyed by
// SecretKey(name); one more entry lists the names, since a keychain cannot
// be enumerated. Store keys of servers are http(s) URLs, so the two never
// collide.

// secretKeyPrefix starts the store key of a secret; secretIndexKey is the
// entry that lists the names.
const (
	secretKeyPrefix = "mcptray-secret:"
	secretIndexKey  = "mcptray-secrets"
)

// secretsLockTimeout bounds the wait for another process's change of the
// list of names.
const secretsLockTimeout = 30 * time.Second

var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckSecretName reports whether name can name a secret: 1-128 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func CheckSecretName(name string) error {
	if !secretNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid secret name: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// SecretKey is the store key of the secret name.
func SecretKey(name string) string { return secretKeyPrefix + name }

// SecretsOptions configure NewSecrets. The zero value works within one
// process.
type SecretsOptions struct {
	// LockDir holds the cross-process lock that serializes changes to the
	// list of names; "" means no cross-process lock (tests, or a store
	// only this process uses).
	LockDir string
}

// Secrets reads and writes named secrets in a Store. It is safe for
// concurrent use, and for use by several processes sharing LockDir.
// Values are never part of an error.
type Secrets struct {
	store   Store
	lockDir string
}

// NewSecrets returns the named secrets kept in store.
func NewSecrets(store Store, opts SecretsOptions) *Secrets {
	return &Secrets{store: store, lockDir: opts.LockDir}
}

// Get returns the value of the secret name, or an error matching
// ErrNotFound.
func (s *Secrets) Get(ctx context.Context, name string) (string, error) {
	if err := CheckSecretName(name); err != nil {
		return "", err
	}
	c, err := s.store.Load(ctx, SecretKey(name))
	if err != nil {
		return "", err
	}
	if c.Secret == "" {
		return "", ErrNotFound
	}
	return c.Secret, nil
}

// Set stores value under name, replacing what was there, and adds name to
// the list.
func (s *Secrets) Set(ctx context.Context, name, value string) error {
	if err := CheckSecretName(name); err != nil {
		return err
	}
	if value == "" {
		return errors.New("a secret's value must not be empty")
	}
	if err := s.store.Save(ctx, SecretKey(name), &Credentials{Secret: value}); err != nil {
		return err
	}
	return s.editIndex(ctx, func(names []string) []string {
		if slices.Contains(names, name) {
			return names
		}
		return append(names, name)
	})
}

// Delete removes the secret name; a missing one is an error matching
// ErrNotFound.
func (s *Secrets) Delete(ctx context.Context, name string) error {
	if err := CheckSecretName(name); err != nil {
		return err
	}
	_, err := s.store.Load(ctx, SecretKey(name))
	missing := errors.Is(err, ErrNotFound)
	if err != nil && !missing {
		return err
	}
	if !missing {
		if err := s.store.Delete(ctx, SecretKey(name)); err != nil {
			return err
		}
	}
	listed := false
	if err := s.editIndex(ctx, func(names []string) []string {
		listed = slices.Contains(names, name)
		return slices.DeleteFunc(names, func(n string) bool { return n == name })
	}); err != nil {
		return err
	}
	if missing && !listed {
		return ErrNotFound
	}
	return nil
}

// List returns the names of the stored secrets, sorted. Names listed
// whose entry is gone (deleted by hand from the keychain) are left out.
func (s *Secrets) List(ctx context.Context) ([]string, error) {
	names, err := s.names(ctx)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		_, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// names reads the list of names.
func (s *Secrets) names(ctx context.Context) ([]string, error) {
	c, err := s.store.Load(ctx, secretIndexKey)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := slices.Clone(c.SecretNames)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// editIndex changes the list of names under the lock.
func (s *Secrets) editIndex(ctx context.Context, edit func([]string) []string) error {
	if s.lockDir != "" {
		lctx, cancel := context.WithTimeout(ctx, secretsLockTimeout)
		l, err := flock.Acquire(lctx, filepath.Join(s.lockDir, "secrets.lock"))
		cancel()
		if err != nil {
			return fmt.Errorf("auth: the list of secrets: %w", err)
		}
		defer l.Unlock()
	}
	names, err := s.names(ctx)
	if err != nil {
		return err
	}
	before := len(names)
	names = edit(slices.Clone(names))
	if len(names) == before && before > 0 {
		return nil // unchanged
	}
	slices.Sort(names)
	if len(names) == 0 {
		return s.store.Delete(ctx, secretIndexKey)
	}
	return s.store.Save(ctx, secretIndexKey, &Credentials{SecretNames: names})
}
