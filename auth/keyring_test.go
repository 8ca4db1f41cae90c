package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
	"github.com/mcptray/mcptray/auth/keyringtest"
)

// These tests use the real keychain. On Linux they run against
// gnome-keyring (or the session's own Secret Service), gnome-keyring with
// its login keyring locked, a bus without a Secret Service, and one that
// never answers, each in a private D-Bus session (see keyringtest).

func skipUnlessSecretService(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service tests are for Linux")
	}
}

func TestKeyringStoreReal(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.SetupWith(t, keyringtest.Real, keyringtest.Options{SessionService: true}) {
		return
	}
	ctx := context.Background()
	opts := KeyringOptions{Service: "mcptray-test-" + randomHex(4), Timeout: 30 * time.Second}
	s := NewKeyringStore(opts)
	storeContract(t, s)

	// A 10 KB value is chunked and round-trips.
	big := sampleCreds(3)
	big.AccessToken = "SECRET-" + strings.Repeat("j", 10<<10)
	must(t, s.Save(ctx, "https://big.example/mcp", big))
	got, err := s.Load(ctx, "https://big.example/mcp")
	must(t, err)
	if got.AccessToken != big.AccessToken || got.RefreshToken != big.RefreshToken {
		t.Fatal("the chunked value did not round-trip")
	}
	must(t, s.Delete(ctx, "https://big.example/mcp"))
	_, err = s.Load(ctx, "https://big.example/mcp")
	wantIs(t, err, ErrNotFound)

	// auto picks the keychain, without a warning.
	st, warning, err := OpenStore(ctx, StoreAuto, filepath.Join(t.TempDir(), credentialsFile), opts)
	must(t, err)
	if _, ok := st.(*AutoStore); !ok || st.Name() != "keychain" || warning != "" {
		t.Fatalf("OpenStore(auto) = %T %s, warning %q", st, st.Name(), warning)
	}

	// A login and a refresh with the keychain as the store.
	h := newHarness(t, oauthtest.Options{})
	h.store = st
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	h.clock.Advance(2 * time.Hour)
	h.token(m)
	must(t, m.Logout(ctx))
}

func TestOpenStoreWithoutSecretService(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.None) {
		return
	}
	home := t.TempDir()
	st, warning, err := OpenStore(context.Background(), StoreAuto, filepath.Join(home, credentialsFile), KeyringOptions{Timeout: 10 * time.Second})
	must(t, err)
	as, ok := st.(*AutoStore)
	if !ok {
		t.Fatalf("OpenStore(auto) = %T, want *AutoStore", st)
	}
	want := filepath.Join(home, credentialsFile)
	if as.file.Path() != want || st.Name() != "file "+want+" (keychain not usable)" || !strings.Contains(warning, "keychain is not usable") ||
		!strings.Contains(warning, want) || !strings.Contains(warning, "org.freedesktop.secrets") {
		t.Fatalf("path %q, name %q, warning %q", as.file.Path(), st.Name(), warning)
	}
	t.Logf("warning: %s", warning)
	storeContract(t, st)
	// Re-probed (and still without a keychain): the file, no crash.
	as.now = func() time.Time { return time.Now().Add(time.Hour) }
	storeContract(t, st)
	if as.Warning() == "" || st.Name() == "keychain" {
		t.Fatalf("after a re-probe: warning %q", as.Warning())
	}

	// Explicit keyring mode keeps the keychain but says what is wrong.
	st, warning, err = OpenStore(context.Background(), StoreKeyring, filepath.Join(home, credentialsFile), KeyringOptions{})
	must(t, err)
	if _, ok := st.(*KeyringStore); !ok || warning == "" {
		t.Fatalf("OpenStore(keyring) = %T, warning %q", st, warning)
	}
}

func TestOpenStoreWithoutSessionBus(t *testing.T) {
	skipUnlessSecretService(t)
	if _, err := os.Stat(filepath.Join("/run/user", itoa(os.Getuid()), "bus")); err == nil {
		t.Skip("this machine has a systemd user bus, found without DBUS_SESSION_BUS_ADDRESS")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	home := t.TempDir()
	st, warning, err := OpenStore(context.Background(), StoreAuto, filepath.Join(home, credentialsFile), KeyringOptions{})
	must(t, err)
	if _, ok := st.(*AutoStore); !ok || st.Name() != "file "+filepath.Join(home, credentialsFile)+" (keychain not usable)" ||
		!strings.Contains(warning, "no D-Bus session bus") {
		t.Fatalf("OpenStore(auto) = %T %s, warning %q", st, st.Name(), warning)
	}
}

func TestKeyringHangs(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.Hang) {
		return
	}
	const timeout = 300 * time.Millisecond
	s := NewKeyringStore(KeyringOptions{Timeout: timeout})
	_, err := s.Load(context.Background(), "https://x.example/mcp")
	wantIs(t, err, ErrKeyringTimeout)
	var te *KeyringTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "the keychain did not answer within 300ms") ||
		!strings.Contains(err.Error(), "may be locked or prompting") {
		t.Fatalf("error = %v", err)
	}
	t.Logf("error: %v", err)

	st, warning, err := OpenStore(context.Background(), StoreAuto, filepath.Join(t.TempDir(), credentialsFile), KeyringOptions{Timeout: timeout})
	must(t, err)
	if _, ok := st.(*AutoStore); !ok || !strings.Contains(st.Name(), "keychain not usable") ||
		!strings.Contains(warning, "did not answer within 300ms") {
		t.Fatalf("OpenStore(auto) = %T %s, warning %q", st, st.Name(), warning)
	}
	t.Logf("warning: %s", warning)
}

// TestKeyringLocked is a login keyring that is locked, with no way to
// prompt for its password (no prompter on the bus, as over SSH or in a
// session without a display; a dismissed prompt is the same to go-keyring).
// go-keyring asks the Secret Service to unlock the keyring before every
// call, the unlock prompt is dismissed at once, and go-keyring reports
// "failed to unlock correct collection '…/login'". The user must get an
// error at once that says the keychain is locked and what to do, never
// "not found" (which would send them to log in again), and the
// credentials must still be there once the keyring is unlocked.
func TestKeyringLocked(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.Locked) {
		return
	}
	ctx := context.Background()
	const timeout = 10 * time.Second
	opts := KeyringOptions{Service: "mcptray-test-" + randomHex(4), Timeout: timeout}
	s := NewKeyringStore(opts)
	h := newHarness(t, oauthtest.Options{})
	h.store = s
	m := h.manager(nil)

	// Signed in while the keyring was unlocked; a large value too.
	keyringtest.Unlock(t)
	h.login(m, LoginOptions{})
	before := h.stored(m)
	const bigKey = "https://big.example/mcp"
	big := sampleCreds(7)
	big.AccessToken = "SECRET-big-" + randomHex(8) + strings.Repeat("j", 5<<10)
	must(t, s.Save(ctx, bigKey, big))
	keyringtest.Lock(t)

	secrets := []string{before.AccessToken, before.RefreshToken, big.AccessToken[:20], big.RefreshToken}
	wantLocked := func(what string, err error, took time.Duration) {
		t.Helper()
		h.note(err)
		t.Logf("%s (%s): %v", what, took.Round(time.Millisecond), err)
		var le *keyringLockedError
		switch {
		case err == nil:
			t.Fatalf("%s succeeded with the keyring locked", what)
		case errors.Is(err, ErrNotFound) || errors.Is(err, ErrLoginRequired):
			t.Fatalf("%s: %v: a locked keychain is not missing credentials", what, err)
		case errors.Is(err, ErrKeyringTimeout) || took >= timeout:
			t.Fatalf("%s took %s (%v): a locked keychain that cannot prompt must fail at once", what, took, err)
		case !errors.As(err, &le):
			t.Fatalf("%s: %v (%T), want a keyringLockedError", what, err, err)
		}
		for _, want := range []string{`keyring "login" is locked`, "no unlock prompt could be shown or it was dismissed", "unlock it", "try again"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", what, err, want)
			}
		}
		noSecrets(t, what, err.Error(), secrets)
	}
	timed := func(f func() error) (time.Duration, error) {
		start := time.Now()
		err := f()
		return time.Since(start), err
	}

	took, err := timed(func() error { _, err := s.Load(ctx, bigKey); return err })
	wantLocked("Load", err, took)
	took, err = timed(func() error { return s.Save(ctx, bigKey, sampleCreds(8)) })
	wantLocked("Save", err, took)
	took, err = timed(func() error { return s.Delete(ctx, bigKey) })
	wantLocked("Delete", err, took)
	// What the hub asks for a request: an error, not "log in again".
	took, err = timed(func() error { _, err := m.Token(ctx); return err })
	wantLocked("Manager.Token", err, took)
	took, err = timed(func() error { return m.Logout(ctx) })
	wantLocked("Manager.Logout", err, took)
	// A login fails before the browser opens: the user is not asked to
	// sign in for tokens that could not be stored.
	opened := len(h.browser.Opened())
	took, err = timed(func() error { return m.Login(ctx, LoginOptions{WWWAuthenticate: h.srv.Challenge()}) })
	wantLocked("Manager.Login", err, took)
	if n := len(h.browser.Opened()); n != opened {
		t.Errorf("Login opened the browser with the keyring locked (%d → %d)", opened, n)
	}

	// auto falls back to the file store and says why; keyring keeps the
	// keychain with the same warning.
	home := t.TempDir()
	path := filepath.Join(home, credentialsFile)
	start := time.Now()
	st, warning, err := OpenStore(ctx, StoreAuto, path, opts)
	must(t, err)
	t.Logf("OpenStore(auto) (%s): %s: %s", time.Since(start).Round(time.Millisecond), st.Name(), warning)
	if as, ok := st.(*AutoStore); !ok || as.file.Path() != path || st.Name() != "file "+path+" (keychain not usable)" || time.Since(start) >= timeout {
		t.Fatalf("OpenStore(auto) = %T %s after %s, want the file store", st, st.Name(), time.Since(start))
	}
	for _, want := range []string{"the OS keychain is not usable (", `keyring "login" is locked`, "unlock it", "credentials are stored in " + path} {
		if !strings.Contains(warning, want) {
			t.Errorf("OpenStore(auto) warning %q lacks %q", warning, want)
		}
	}
	st, warning, err = OpenStore(ctx, StoreKeyring, path, opts)
	must(t, err)
	if _, ok := st.(*KeyringStore); !ok || !strings.Contains(warning, `keyring "login" is locked`) {
		t.Fatalf("OpenStore(keyring) = %T, warning %q", st, warning)
	}
	noSecrets(t, "warning", warning, secrets)

	// Nothing was lost or changed: unlocked, the keychain has what was
	// saved before, and the sign-in works again.
	keyringtest.Unlock(t)
	got, err := s.Load(ctx, bigKey)
	must(t, err)
	if got.AccessToken != big.AccessToken || got.RefreshToken != big.RefreshToken {
		t.Fatal("the chunked value changed while the keyring was locked")
	}
	if after := h.stored(m); after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken {
		t.Fatal("the stored tokens changed while the keyring was locked")
	}
	h.token(m)
	must(t, m.Logout(ctx))
	must(t, s.Delete(ctx, bigKey))
}

func noSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for i, sec := range secrets {
		if sec != "" && strings.Contains(text, sec) {
			t.Errorf("%s contains secret #%d", what, i)
		}
	}
}
