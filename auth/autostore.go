package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// DefaultReprobeInterval is how often an AutoStore whose keychain is not
// usable checks it again, when AutoStoreOptions.Reprobe is zero.
const DefaultReprobeInterval = 30 * time.Second

// AutoStoreOptions configure NewAutoStore. The zero value is ready to use.
type AutoStoreOptions struct {
	// Reprobe is the least time between two checks of a keychain that is
	// not usable; zero means DefaultReprobeInterval.
	Reprobe time.Duration
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// AutoStore is the store of credentialStore "auto": the OS keychain while
// it is usable, the 0600 file while it is not, and never a lost login when
// it comes and goes.
//
//   - A keychain that is not usable (no Secret Service, locked with no
//     prompt possible, not answering) is checked again, lazily on the next
//     call, once AutoStoreOptions.Reprobe has passed since the last check.
//     There is no background goroutine.
//   - A file entry exists only when it was written while the keychain was
//     not usable (here or by another process), so it is the newest copy:
//     with a usable keychain, Load looks in the file first and moves what
//     it finds there into the keychain (deleting it from the file only once
//     the keychain has it). A Save to a usable keychain deletes any file
//     copy. Both happen under the file's cross-process lock, so a migration
//     never writes back tokens older than a concurrent Save.
//   - A keychain error other than "not found" (locked, timed out, no
//     Secret Service, a corrupt entry) marks the keychain not usable; that
//     call then uses the file: a Save always lands somewhere.
//   - Delete removes the key from both; when the keychain cannot be
//     reached, a deletion marker in the file hides the keychain's copy
//     until it can be deleted.
//
// Credentials are not cached: every Load reads the stores, so a Load under
// the Manager's cross-process lock sees what another process saved.
// AutoStore is safe for concurrent use.
type AutoStore struct {
	keyring *KeyringStore
	file    *FileStore
	reprobe time.Duration
	now     func() time.Time

	mu      sync.Mutex // guards the fields below
	usable  bool       // the keychain answered the last probe or call
	reason  error      // why it is not usable; no secrets (keychain and probe errors hold none)
	next    time.Time  // the earliest next probe while not usable
	probing bool       // a probe is running; other calls use the file meanwhile
}

// NewAutoStore returns a store over ks and fs, and probes the keychain
// once (bounded by ks's timeout and ctx).
func NewAutoStore(ctx context.Context, ks *KeyringStore, fs *FileStore, opts AutoStoreOptions) *AutoStore {
	s := &AutoStore{keyring: ks, file: fs, reprobe: opts.Reprobe, now: opts.Now}
	if s.reprobe <= 0 {
		s.reprobe = DefaultReprobeInterval
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.probe(ctx)
	return s
}

// Name implements Store: "keychain", or the file and why.
func (s *AutoStore) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usable {
		return s.keyring.Name()
	}
	return s.file.Name() + " (keychain not usable)"
}

// Warning says why credentials go to the file instead of the keychain, and
// where; it is empty while the keychain is in use.
func (s *AutoStore) Warning() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usable {
		return ""
	}
	return fmt.Sprintf("the OS keychain is not usable (%v); credentials are stored in %s instead, readable only by you", s.reason, s.file.Path())
}

// probe checks the keychain now and records the outcome; a probe cut
// short by ctx changes nothing.
func (s *AutoStore) probe(ctx context.Context) {
	err := probeKeyring(ctx, s.keyring)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probing = false
	s.next = s.now().Add(s.reprobe)
	switch {
	case err == nil:
		s.usable, s.reason = true, nil
	case ctx.Err() == nil:
		s.usable, s.reason = false, err
	case s.reason == nil && !s.usable:
		s.reason = err // the first probe: say something
	}
}

// keychainUsable reports whether to use the keychain for this call,
// probing it first when it is not usable and the interval has passed.
func (s *AutoStore) keychainUsable(ctx context.Context) bool {
	s.mu.Lock()
	if s.usable {
		s.mu.Unlock()
		return true
	}
	if s.probing || s.now().Before(s.next) {
		s.mu.Unlock()
		return false
	}
	s.probing = true
	s.mu.Unlock()
	s.probe(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usable
}

// keychainFailed reports whether err, from a keychain call made with ctx,
// means the keychain is not usable, and if so marks it so.
func (s *AutoStore) keychainFailed(ctx context.Context, err error) bool {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, errTornRead) || ctx.Err() != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usable, s.reason = false, err
	s.next = s.now().Add(s.reprobe)
	return true
}

// fileExists reports whether the credentials file may exist; only a
// definite "does not exist" is false.
func (s *AutoStore) fileExists() bool {
	_, err := os.Stat(s.file.Path())
	return !errors.Is(err, fs.ErrNotExist)
}

// Load implements Store.
func (s *AutoStore) Load(ctx context.Context, key string) (*Credentials, error) {
	if !s.keychainUsable(ctx) {
		return s.file.Load(ctx, key)
	}
	var fileErr error
	if s.fileExists() {
		c, found, err := s.migrate(ctx, key)
		switch {
		case found && c == nil:
			return nil, ErrNotFound
		case found:
			return c, nil
		}
		fileErr = err // a corrupt or unreadable file: the keychain may still have it
	}
	c, err := s.keyring.Load(ctx, key)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, ErrNotFound):
		if fileErr != nil {
			return nil, fileErr
		}
		return nil, err
	case s.keychainFailed(ctx, err):
		return s.file.Load(ctx, key)
	}
	return nil, err
}

// migrate moves key's file entry, if any, into the keychain, under the
// file's lock: credentials are saved there, a deletion marker deletes
// there; the entry leaves the file only once the keychain took it. found
// reports whether the file had an entry; c is then its credentials (nil
// for a deletion marker), whether or not the keychain took them.
func (s *AutoStore) migrate(ctx context.Context, key string) (c *Credentials, found bool, err error) {
	err = s.file.locked(ctx, func() error {
		f, err := s.file.read()
		if err != nil {
			return err
		}
		fc, ok := f.Servers[key]
		if !ok {
			return nil
		}
		c, found = fc, true
		var kerr error
		if fc == nil { // a deletion marker
			kerr = s.keyring.Delete(ctx, key)
		} else {
			kerr = s.keyring.Save(ctx, key, fc)
		}
		if kerr != nil {
			s.keychainFailed(ctx, kerr)
			return nil
		}
		delete(f.Servers, key)
		// Should the write fail, the file keeps a copy identical to the
		// keychain's; the next Load moves it again.
		return s.file.write(f)
	})
	return c, found, err
}

// Save implements Store.
func (s *AutoStore) Save(ctx context.Context, key string, c *Credentials) error {
	if !s.keychainUsable(ctx) {
		return s.file.Save(ctx, key, c)
	}
	if !s.fileExists() {
		err := s.keyring.Save(ctx, key, c)
		if !s.keychainFailed(ctx, err) {
			return err
		}
		return s.file.Save(ctx, key, c)
	}
	return s.file.locked(ctx, func() error {
		kerr := s.keyring.Save(ctx, key, c)
		if kerr != nil && !s.keychainFailed(ctx, kerr) {
			return kerr
		}
		f, err := s.file.read()
		if err != nil {
			if kerr == nil {
				return fmt.Errorf("auth: the credentials were saved to the keychain, but an older copy in %s could not be removed and may be used instead: %w", s.file.Path(), err)
			}
			return err
		}
		if kerr != nil {
			f.Servers[key] = c.clone()
			return s.file.write(f)
		}
		if _, ok := f.Servers[key]; !ok {
			return nil
		}
		delete(f.Servers, key)
		if err := s.file.write(f); err != nil {
			return fmt.Errorf("auth: the credentials were saved to the keychain, but an older copy in %s could not be removed and may be used instead: %w", s.file.Path(), err)
		}
		return nil
	})
}

// Delete implements Store. It deletes key from the keychain and the file.
// When the keychain cannot be reached, which may still hold the
// credentials, the file keeps a deletion marker (the key with a null
// value) instead: it hides the keychain's copy, and the next Load with a
// usable keychain deletes that copy and the marker.
func (s *AutoStore) Delete(ctx context.Context, key string) error {
	if !s.keychainUsable(ctx) {
		return s.markDeleted(ctx, key)
	}
	return s.file.locked(ctx, func() error {
		kerr := s.keyring.Delete(ctx, key)
		if kerr != nil && !s.keychainFailed(ctx, kerr) {
			return kerr
		}
		f, err := s.file.read()
		if err != nil {
			return err
		}
		if kerr != nil {
			f.Servers[key] = nil
			return s.file.write(f)
		}
		if _, ok := f.Servers[key]; !ok {
			return nil
		}
		delete(f.Servers, key)
		return s.file.write(f)
	})
}

// markDeleted replaces key's file entry with a deletion marker.
func (s *AutoStore) markDeleted(ctx context.Context, key string) error {
	return s.file.locked(ctx, func() error {
		f, err := s.file.read()
		if err != nil {
			return err
		}
		if c, ok := f.Servers[key]; ok && c == nil {
			return nil
		}
		f.Servers[key] = nil
		return s.file.write(f)
	})
}
