package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/keyringtest"
)

// fakeClock is a settable clock for AutoStoreOptions.Now.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// inFile reports whether the credentials file holds an entry for key.
func inFile(t *testing.T, path, key string) bool {
	t.Helper()
	_, err := NewFileStore(path).Load(context.Background(), key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestAutoStoreKeychainUnlockedLater: the login keyring is locked when the
// store opens (and no prompt can be shown), so a login lands in the file,
// with a warning. Once the keyring is unlocked and the re-probe interval
// has passed, the next Load moves the credentials into the keychain, and
// the store says it uses the keychain, without a restart.
func TestAutoStoreKeychainUnlockedLater(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.Locked) {
		return
	}
	ctx := context.Background()
	opts := KeyringOptions{Service: "mcptray-test-" + randomHex(4), Timeout: 10 * time.Second}
	home := t.TempDir()
	path := filepath.Join(home, credentialsFile)
	st, warning, err := OpenStore(ctx, StoreAuto, path, opts)
	must(t, err)
	as, ok := st.(*AutoStore)
	if !ok {
		t.Fatalf("OpenStore(auto) = %T, want *AutoStore", st)
	}
	clock := newFakeClock()
	as.now = clock.Now // before any use
	as.next = clock.Now().Add(as.reprobe)
	t.Logf("opened: %s: %s", as.Name(), warning)
	for _, want := range []string{"the OS keychain is not usable (", `keyring "login" is locked`, "credentials are stored in " + path} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q lacks %q", warning, want)
		}
	}
	if as.Warning() != warning || as.Name() != "file "+path+" (keychain not usable)" {
		t.Fatalf("Name %q, Warning %q", as.Name(), as.Warning())
	}

	const key = "https://locked.example/mcp"
	c := sampleCreds(1)
	c.AccessToken = "SECRET-at-" + randomHex(8)
	must(t, as.Save(ctx, key, c))
	if !inFile(t, path, key) {
		t.Fatal("the Save with the keychain locked is not in the file")
	}
	ks := NewKeyringStore(opts)
	keyringtest.Unlock(t)
	if _, err := ks.Load(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("keychain Load = %v, want not found", err)
	}

	// Before the interval: still the file, no probe.
	got, err := as.Load(ctx, key)
	must(t, err)
	if got.AccessToken != c.AccessToken || !inFile(t, path, key) || as.Warning() == "" {
		t.Fatalf("before the re-probe interval: token ok %v, in file %v, warning %q", got.AccessToken == c.AccessToken, inFile(t, path, key), as.Warning())
	}

	clock.Advance(as.reprobe)
	got, err = as.Load(ctx, key)
	must(t, err)
	if got.AccessToken != c.AccessToken || got.RefreshToken != c.RefreshToken {
		t.Fatal("Load after the unlock returned other credentials")
	}
	if inFile(t, path, key) {
		t.Error("the file still holds the credentials after the migration")
	}
	kc, err := ks.Load(ctx, key)
	must(t, err)
	if kc.AccessToken != c.AccessToken {
		t.Error("the keychain does not hold the migrated credentials")
	}
	if as.Warning() != "" || as.Name() != "keychain" {
		t.Errorf("after the unlock: Name %q, Warning %q", as.Name(), as.Warning())
	}

	// Locked again: a refresh's Save still lands (in the file), and is what
	// Load returns once unlocked, not the older keychain copy.
	keyringtest.Lock(t)
	c2 := sampleCreds(2)
	c2.AccessToken = "SECRET-at2-" + randomHex(8)
	must(t, as.Save(ctx, key, c2))
	if !inFile(t, path, key) || as.Name() == "keychain" {
		t.Fatalf("Save with the keyring locked again: in file %v, Name %q", inFile(t, path, key), as.Name())
	}
	noSecrets(t, "warning", as.Warning(), []string{c.AccessToken, c2.AccessToken, c.RefreshToken})
	t.Logf("locked again: %s: %s", as.Name(), as.Warning())
	keyringtest.Unlock(t)
	clock.Advance(as.reprobe)
	got, err = as.Load(ctx, key)
	must(t, err)
	if got.AccessToken != c2.AccessToken {
		t.Fatal("Load returned the older keychain copy instead of the newer file copy")
	}
	if kc, err := ks.Load(ctx, key); err != nil || kc.AccessToken != c2.AccessToken || inFile(t, path, key) {
		t.Fatalf("the newer copy was not moved to the keychain: %v", err)
	}

	// Delete removes it everywhere.
	must(t, as.Delete(ctx, key))
	if _, err := ks.Load(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("keychain after Delete: %v", err)
	}
	if inFile(t, path, key) {
		t.Error("file after Delete still has the key")
	}
	_, err = as.Load(ctx, key)
	wantIs(t, err, ErrNotFound)
}

// TestAutoStoreMigratesFileCredentials: a usable keychain, with
// credentials that an earlier run saved to the file (its keychain was not
// usable): they are found, moved to the keychain and taken out of the file.
func TestAutoStoreMigratesFileCredentials(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.Real) {
		return
	}
	ctx := context.Background()
	opts := KeyringOptions{Service: "mcptray-test-" + randomHex(4), Timeout: 10 * time.Second}
	home := t.TempDir()
	path := filepath.Join(home, credentialsFile)
	fs := NewFileStore(path)
	ks := NewKeyringStore(opts)
	const onlyFile, both, other = "https://file.example/mcp", "https://both.example/mcp", "https://other.example/mcp"
	must(t, fs.Save(ctx, onlyFile, sampleCreds(1)))
	must(t, fs.Save(ctx, both, sampleCreds(2)))
	must(t, fs.Save(ctx, other, sampleCreds(4)))
	must(t, ks.Save(ctx, both, sampleCreds(3))) // older, superseded by the file's

	st, warning, err := OpenStore(ctx, StoreAuto, path, opts)
	must(t, err)
	if st.Name() != "keychain" || warning != "" {
		t.Fatalf("OpenStore(auto) = %s, warning %q", st.Name(), warning)
	}
	for key, want := range map[string]string{onlyFile: "SECRET-at-1", both: "SECRET-at-2"} {
		got, err := st.Load(ctx, key)
		must(t, err)
		if got.AccessToken != want {
			t.Errorf("Load(%s) has access token #%s, want %s", key, got.AccessToken, want)
		}
		if inFile(t, path, key) {
			t.Errorf("%s is still in the file", key)
		}
		if kc, err := ks.Load(ctx, key); err != nil || kc.AccessToken != want {
			t.Errorf("%s not in the keychain: %v", key, err)
		}
	}
	if !inFile(t, path, other) {
		t.Error("migrating one key took another out of the file")
	}
	storeContract(t, st)

	// Delete removes both copies.
	must(t, ks.Save(ctx, other, sampleCreds(5)))
	must(t, st.Delete(ctx, other))
	if _, err := ks.Load(ctx, other); !errors.Is(err, ErrNotFound) || inFile(t, path, other) {
		t.Fatalf("after Delete: keychain %v, in file %v", err, inFile(t, path, other))
	}
	must(t, st.Delete(ctx, other))
}

// flakyKeyring is an in-memory keychain that fails every call with err
// while err is set.
type flakyKeyring struct {
	mem *memKeyring
	err atomic.Pointer[error]
}

func (k *flakyKeyring) fail(err error) {
	if err == nil {
		k.err.Store(nil)
		return
	}
	k.err.Store(&err)
}

func (k *flakyKeyring) check() error {
	if p := k.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (k *flakyKeyring) Set(service, user, pass string) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.mem.Set(service, user, pass)
}

func (k *flakyKeyring) Get(service, user string) (string, error) {
	if err := k.check(); err != nil {
		return "", err
	}
	return k.mem.Get(service, user)
}

func (k *flakyKeyring) Delete(service, user string) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.mem.Delete(service, user)
}

func fakeAutoStore(t *testing.T, down error) (*AutoStore, *flakyKeyring, *KeyringStore, *fakeClock, string) {
	t.Helper()
	k := &flakyKeyring{mem: &memKeyring{m: map[string]string{}}}
	k.fail(down)
	ks := NewKeyringStore(KeyringOptions{Timeout: 5 * time.Second})
	ks.backend = k
	path := filepath.Join(t.TempDir(), credentialsFile)
	clock := newFakeClock()
	s := NewAutoStore(context.Background(), ks, NewFileStore(path), AutoStoreOptions{Reprobe: time.Minute, Now: clock.Now})
	return s, k, ks, clock, path
}

var errFakeLocked = &keyringLockedError{collection: "/org/freedesktop/secrets/collection/login"}

func TestAutoStoreFallbackAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, k, ks, clock, path := fakeAutoStore(t, nil)
	if s.Name() != "keychain" || s.Warning() != "" {
		t.Fatalf("Name %q, Warning %q", s.Name(), s.Warning())
	}
	must(t, s.Save(ctx, "k", sampleCreds(1)))
	if inFile(t, path, "k") {
		t.Fatal("a Save to a usable keychain went to the file")
	}

	// The keychain locks: Save falls back to the file, Load reads it.
	k.fail(errFakeLocked)
	must(t, s.Save(ctx, "k", sampleCreds(2)))
	if !inFile(t, path, "k") || !strings.Contains(s.Warning(), "is locked") || !strings.Contains(s.Name(), "keychain not usable") {
		t.Fatalf("after a failed keychain Save: in file %v, Name %q, Warning %q", inFile(t, path, "k"), s.Name(), s.Warning())
	}
	if got, err := s.Load(ctx, "k"); err != nil || got.AccessToken != "SECRET-at-2" {
		t.Fatalf("Load = %v, %v", got, err)
	}

	// Deleted while the keychain is locked: the file hides the keychain's
	// older copy, and the keychain loses it once it is back.
	must(t, s.Delete(ctx, "k"))
	_, err := s.Load(ctx, "k")
	wantIs(t, err, ErrNotFound)
	k.fail(nil)
	_, err = s.Load(ctx, "k") // interval not passed: file only
	wantIs(t, err, ErrNotFound)
	if _, err := ks.Load(ctx, "k"); err != nil {
		t.Fatalf("the keychain copy went early: %v", err)
	}
	clock.Advance(time.Minute)
	_, err = s.Load(ctx, "k")
	wantIs(t, err, ErrNotFound)
	if _, err := ks.Load(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the keychain copy of a deleted key survived: %v", err)
	}
	if s.Warning() != "" {
		t.Fatalf("Warning %q with the keychain back", s.Warning())
	}
	// The marker is gone too.
	f, err := s.file.read()
	must(t, err)
	if _, ok := f.Servers["k"]; ok {
		t.Fatal("the deletion marker stayed in the file")
	}

	// A Load that meets a locked keychain uses the file for that call.
	must(t, NewFileStore(path).Save(ctx, "f", sampleCreds(7)))
	must(t, ks.Save(ctx, "f", sampleCreds(8)))
	k.fail(errFakeLocked)
	if got, err := s.Load(ctx, "f"); err != nil || got.AccessToken != "SECRET-at-7" {
		t.Fatalf("Load with the keychain locked = %v, %v", got, err)
	}
	k.fail(nil)
	clock.Advance(time.Minute)
	if got, err := s.Load(ctx, "f"); err != nil || got.AccessToken != "SECRET-at-7" || inFile(t, path, "f") {
		t.Fatalf("Load after the unlock = %v, %v, in file %v", got, err, inFile(t, path, "f"))
	}
}

// TestAutoStoreNoKeychain: without a keychain at all, the file is the store.
func TestAutoStoreNoKeychain(t *testing.T) {
	t.Parallel()
	s, _, _, clock, path := fakeAutoStore(t, errNoSessionBus)
	if !strings.Contains(s.Warning(), "no D-Bus session bus") || s.Name() != "file "+path+" (keychain not usable)" {
		t.Fatalf("Name %q, Warning %q", s.Name(), s.Warning())
	}
	storeContract(t, s)
	clock.Advance(time.Minute) // a re-probe that fails again
	storeContract(t, s)
	if s.Warning() == "" {
		t.Fatal("no warning")
	}
}

// TestAutoStoreCanceled: a call whose context ended does not mark the
// keychain unusable.
func TestAutoStoreCanceled(t *testing.T) {
	t.Parallel()
	s, _, _, _, _ := fakeAutoStore(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.keychainFailed(ctx, context.Canceled) || s.Name() != "keychain" {
		t.Fatalf("a canceled call marked the keychain unusable: %s", s.Name())
	}
	if !s.keychainFailed(context.Background(), errFakeLocked) || s.Name() == "keychain" {
		t.Fatal("a locked keychain was not marked unusable")
	}
}

// TestAutoStoreConcurrent: many goroutines with the keychain coming and
// going; run with -race.
func TestAutoStoreConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, k, _, clock, _ := fakeAutoStore(t, nil)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", g)
			for i := range 20 {
				switch i % 5 {
				case 1:
					k.fail(errFakeLocked)
				case 3:
					k.fail(nil)
					clock.Advance(time.Minute)
				}
				c := sampleCreds(i)
				if err := s.Save(ctx, key, c); err != nil {
					t.Error(err)
					return
				}
				// A keychain that locked after the Save hides it (not
				// found), but a Load never returns older tokens.
				got, err := s.Load(ctx, key)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if got.AccessToken != c.AccessToken {
					t.Errorf("%s: Load after Save #%d has %s", key, i, got.AccessToken)
					return
				}
				_ = s.Name()
				_ = s.Warning()
			}
		}()
	}
	wg.Wait()
	// The keychain back: every key has its last Save.
	k.fail(nil)
	clock.Advance(time.Minute)
	for g := range 6 {
		got, err := s.Load(ctx, fmt.Sprintf("k%d", g))
		if err != nil || got.AccessToken != sampleCreds(19).AccessToken {
			t.Errorf("k%d at the end: %v, %v", g, got, err)
		}
	}
	if s.Name() != "keychain" {
		t.Errorf("Name %q at the end", s.Name())
	}
}
