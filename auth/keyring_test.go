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
// gnome-keyring (or the session's own Secret Service), a bus without one,
// and a Secret Service that never answers, each in a private D-Bus session
// (see keyringtest).

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
	st, warning, err := OpenStore(ctx, StoreAuto, t.TempDir(), opts)
	must(t, err)
	if _, ok := st.(*KeyringStore); !ok || warning != "" {
		t.Fatalf("OpenStore(auto) = %T, warning %q", st, warning)
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
	st, warning, err := OpenStore(context.Background(), StoreAuto, home, KeyringOptions{Timeout: 10 * time.Second})
	must(t, err)
	fs, ok := st.(*FileStore)
	if !ok {
		t.Fatalf("OpenStore(auto) = %T, want the file store", st)
	}
	want := filepath.Join(home, CredentialsFile)
	if fs.Path() != want || !strings.Contains(warning, "keychain is not usable") || !strings.Contains(warning, want) ||
		!strings.Contains(warning, "org.freedesktop.secrets") {
		t.Fatalf("path %q, warning %q", fs.Path(), warning)
	}
	t.Logf("warning: %s", warning)
	storeContract(t, st)

	// Explicit keyring mode keeps the keychain but says what is wrong.
	st, warning, err = OpenStore(context.Background(), StoreKeyring, home, KeyringOptions{})
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
	st, warning, err := OpenStore(context.Background(), StoreAuto, home, KeyringOptions{})
	must(t, err)
	if _, ok := st.(*FileStore); !ok || !strings.Contains(warning, "no D-Bus session bus") {
		t.Fatalf("OpenStore(auto) = %T, warning %q", st, warning)
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

	st, warning, err := OpenStore(context.Background(), StoreAuto, t.TempDir(), KeyringOptions{Timeout: timeout})
	must(t, err)
	if _, ok := st.(*FileStore); !ok || !strings.Contains(warning, "did not answer within 300ms") {
		t.Fatalf("OpenStore(auto) = %T, warning %q", st, warning)
	}
	t.Logf("warning: %s", warning)
}
