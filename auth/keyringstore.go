package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultKeyringTimeout bounds each keychain operation when
// KeyringOptions.Timeout is zero.
const DefaultKeyringTimeout = 5 * time.Second

// KeyringService is the keychain service name used when
// KeyringOptions.Service is empty.
const KeyringService = "mcptray"

// keyringChunkSize is the largest value stored in one keychain entry; larger
// values are split. Windows allows 2560 bytes per credential; macOS about
// 3000 bytes for service, account and the base64-encoded value together
// (go-keyring encodes it, 4/3 larger); 1800 bytes fits both with room for
// the account name.
const keyringChunkSize = 1800

// keyringAccountMax is the longest store key used verbatim as the keychain
// account name; longer keys are hashed, to stay within the macOS limit.
const keyringAccountMax = 200

// chunkHeaderPrefix starts the value of an entry whose data is split over
// chunk entries: "mcptray-chunks:v1:GEN:COUNT:SHA256".
const chunkHeaderPrefix = "mcptray-chunks:v1:"

// KeyringOptions configure NewKeyringStore. The zero value is ready to use.
type KeyringOptions struct {
	// Timeout bounds each Store call (which may be several keychain
	// operations); zero means DefaultKeyringTimeout.
	Timeout time.Duration
	// Service is the keychain service name; empty means KeyringService.
	// Tests use their own.
	Service string
}

// keyringBackend is the keychain API (go-keyring's shape), replaceable in
// tests.
type keyringBackend interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// goKeyring is the real keychain through github.com/zalando/go-keyring.
type goKeyring struct{}

func (goKeyring) Set(service, user, password string) error {
	if err := keyringPrecheck(); err != nil {
		return err
	}
	return lockedErr(keyring.Set(service, user, password))
}

func (goKeyring) Get(service, user string) (string, error) {
	if err := keyringPrecheck(); err != nil {
		return "", err
	}
	v, err := keyring.Get(service, user)
	return v, lockedErr(err)
}

func (goKeyring) Delete(service, user string) error {
	if err := keyringPrecheck(); err != nil {
		return err
	}
	return lockedErr(keyring.Delete(service, user))
}

// goKeyringUnlockFailed starts go-keyring's error for a Secret Service
// keyring that it asked to unlock and that stayed locked: the unlock
// prompt was dismissed, or could not be shown (no prompter, no display),
// e.g. "failed to unlock correct collection
// '/org/freedesktop/secrets/collection/login'". It is plain text, with no
// type to test for; TestKeyringLocked pins it. (A prompt that is shown and
// left unanswered blocks instead: that is a KeyringTimeoutError.)
const goKeyringUnlockFailed = "failed to unlock correct collection '"

// keyringLockedError reports a keychain that is locked and was not
// unlocked.
type keyringLockedError struct {
	collection string // the Secret Service object path
}

func (e *keyringLockedError) Error() string {
	name := "the default Secret Service keyring"
	if base, ok := strings.CutPrefix(e.collection, "/org/freedesktop/secrets/collection/"); ok && base != "" {
		name = fmt.Sprintf("the Secret Service keyring %q", base)
	}
	return name + " is locked, and no unlock prompt could be shown or it was dismissed: " +
		"unlock it, e.g. by logging in to the desktop session or with the Passwords and Keys app, then try again"
}

// lockedErr turns go-keyring's failure to unlock into a keyringLockedError;
// other errors pass unchanged.
func lockedErr(err error) error {
	if err == nil {
		return nil
	}
	rest, ok := strings.CutPrefix(err.Error(), goKeyringUnlockFailed)
	if !ok {
		return err
	}
	return &keyringLockedError{collection: strings.TrimSuffix(rest, "'")}
}

// KeyringStore keeps credentials in the OS keychain (macOS Keychain,
// Windows Credential Manager, the Secret Service on Linux and BSD), one
// entry per key with service KeyringService; values too large for one entry
// are split into chunk entries named by a header entry.
//
// Every Store call runs on its own goroutine and returns a
// *KeyringTimeoutError when the keychain does not answer in time (a locked
// keychain may block while it prompts). A locked Secret Service keyring
// whose unlock prompt cannot be shown, or is dismissed, fails at once with
// an error that says it is locked. At most one keychain operation is in
// flight per store: while a timed-out one is still blocked, later calls time
// out too instead of piling up. A Save that timed out may still complete
// once the keychain answers.
type KeyringStore struct {
	service string
	timeout time.Duration
	backend keyringBackend
	chunk   int
	gate    chan struct{}
}

// NewKeyringStore returns a store in the OS keychain.
func NewKeyringStore(opts KeyringOptions) *KeyringStore {
	s := &KeyringStore{
		service: opts.Service,
		timeout: opts.Timeout,
		backend: goKeyring{},
		chunk:   keyringChunkSize,
		gate:    make(chan struct{}, 1),
	}
	if s.service == "" {
		s.service = KeyringService
	}
	if s.timeout <= 0 {
		s.timeout = DefaultKeyringTimeout
	}
	return s
}

// Name implements Store.
func (s *KeyringStore) Name() string { return "keychain" }

// run calls fn on its own goroutine, bounded by the store's timeout and ctx.
func (s *KeyringStore) run(ctx context.Context, op string, fn func(keyringBackend) error) error {
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case s.gate <- struct{}{}:
	case <-timer.C:
		return &KeyringTimeoutError{Op: op, Timeout: s.timeout}
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-s.gate }()
		done <- fn(s.backend)
	}()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return &KeyringTimeoutError{Op: op, Timeout: s.timeout}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// account is the keychain account name of a store key.
func account(key string) string {
	if len(key) <= keyringAccountMax {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256-" + hex.EncodeToString(sum[:])
}

func chunkAccount(acct, gen string, i int) string {
	return acct + "#chunk-" + gen + "-" + strconv.Itoa(i)
}

type chunkHeader struct {
	gen   string
	count int
	sum   string
}

func (h chunkHeader) String() string {
	return chunkHeaderPrefix + h.gen + ":" + strconv.Itoa(h.count) + ":" + h.sum
}

// parseChunkHeader reports whether v is a chunk header.
func parseChunkHeader(v string) (chunkHeader, bool) {
	rest, ok := strings.CutPrefix(v, chunkHeaderPrefix)
	if !ok {
		return chunkHeader{}, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return chunkHeader{}, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 || n > 1000 {
		return chunkHeader{}, false
	}
	return chunkHeader{gen: parts[0], count: n, sum: parts[2]}, true
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// keyringErr maps a keychain error, whose text holds no secrets.
func keyringErr(err error) error {
	if errors.Is(err, keyring.ErrNotFound) || errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("auth: keychain: %w", err)
}

// Load implements Store.
func (s *KeyringStore) Load(ctx context.Context, key string) (*Credentials, error) {
	var data []byte
	err := s.run(ctx, "load", func(b keyringBackend) error {
		var err error
		// A concurrent Save replaces chunks under a new generation and
		// then deletes the old ones: retry once when that raced with us.
		for range 2 {
			data, err = s.readValue(b, account(key))
			if !errors.Is(err, errTornRead) {
				break
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("auth: keychain entry for %s is corrupt: %v", key, err)
	}
	return &c, nil
}

var errTornRead = errors.New("auth: keychain entry changed while being read")

func (s *KeyringStore) readValue(b keyringBackend, acct string) ([]byte, error) {
	v, err := b.Get(s.service, acct)
	if err != nil {
		return nil, keyringErr(err)
	}
	h, ok := parseChunkHeader(v)
	if !ok {
		return []byte(v), nil
	}
	var buf []byte
	for i := range h.count {
		part, err := b.Get(s.service, chunkAccount(acct, h.gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, errTornRead
		}
		if err != nil {
			return nil, keyringErr(err)
		}
		buf = append(buf, part...)
	}
	if checksum(buf) != h.sum {
		return nil, errTornRead
	}
	return buf, nil
}

// Save implements Store.
func (s *KeyringStore) Save(ctx context.Context, key string, c *Credentials) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("auth: encode credentials: %w", err)
	}
	return s.run(ctx, "save", func(b keyringBackend) error {
		acct := account(key)
		old, oldErr := b.Get(s.service, acct)
		if oldErr != nil && !errors.Is(oldErr, keyring.ErrNotFound) {
			return keyringErr(oldErr)
		}
		if len(data) <= s.chunk {
			if err := b.Set(s.service, acct, string(data)); err != nil {
				return keyringErr(err)
			}
		} else {
			h := chunkHeader{gen: randomHex(4), sum: checksum(data)}
			for off := 0; off < len(data); off += s.chunk {
				part := data[off:min(off+s.chunk, len(data))]
				if err := b.Set(s.service, chunkAccount(acct, h.gen, h.count), string(part)); err != nil {
					return keyringErr(err)
				}
				h.count++
			}
			if err := b.Set(s.service, acct, h.String()); err != nil {
				return keyringErr(err)
			}
		}
		if oh, ok := parseChunkHeader(old); ok {
			s.deleteChunks(b, acct, oh)
		}
		return nil
	})
}

// deleteChunks removes the chunk entries of a header; missing ones are fine.
func (s *KeyringStore) deleteChunks(b keyringBackend, acct string, h chunkHeader) {
	for i := range h.count {
		_ = b.Delete(s.service, chunkAccount(acct, h.gen, i))
	}
}

// Delete implements Store.
func (s *KeyringStore) Delete(ctx context.Context, key string) error {
	return s.run(ctx, "delete", func(b keyringBackend) error {
		acct := account(key)
		v, err := b.Get(s.service, acct)
		if errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		if err != nil {
			return keyringErr(err)
		}
		if err := b.Delete(s.service, acct); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return keyringErr(err)
		}
		if h, ok := parseChunkHeader(v); ok {
			s.deleteChunks(b, acct, h)
		}
		return nil
	})
}
