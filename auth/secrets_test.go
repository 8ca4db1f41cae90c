package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/keyringtest"
)

// secretsContract checks set, get, list and rm of named secrets in st.
func secretsContract(t *testing.T, st Store, lockDir string) {
	t.Helper()
	ctx := context.Background()
	s := NewSecrets(st, SecretsOptions{LockDir: lockDir})
	if names, err := s.List(ctx); err != nil || len(names) != 0 {
		t.Fatalf("List of an empty store = %q, %v", names, err)
	}
	_, err := s.Get(ctx, "jira-AUTH_HEADER")
	wantIs(t, err, ErrNotFound)

	must(t, s.Set(ctx, "jira-AUTH_HEADER", "Bearer SECRET-jira"))
	must(t, s.Set(ctx, "gh.token", "SECRET-gh"))
	must(t, s.Set(ctx, "jira-AUTH_HEADER", "Bearer SECRET-jira-2")) // replaced
	if v, err := s.Get(ctx, "jira-AUTH_HEADER"); err != nil || v != "Bearer SECRET-jira-2" {
		t.Fatalf("Get after a second Set: %v (value ok: %v)", err, v == "Bearer SECRET-jira-2")
	}
	if names, err := s.List(ctx); err != nil || !slices.Equal(names, []string{"gh.token", "jira-AUTH_HEADER"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	// A second Secrets over the same store (another process) sees them.
	if v, err := NewSecrets(st, SecretsOptions{}).Get(ctx, "gh.token"); err != nil || v != "SECRET-gh" {
		t.Fatalf("Get through another Secrets: %v", err)
	}

	must(t, s.Delete(ctx, "gh.token"))
	_, err = s.Get(ctx, "gh.token")
	wantIs(t, err, ErrNotFound)
	wantIs(t, s.Delete(ctx, "gh.token"), ErrNotFound)
	if names, err := s.List(ctx); err != nil || !slices.Equal(names, []string{"jira-AUTH_HEADER"}) {
		t.Fatalf("List after Delete = %q, %v", names, err)
	}

	for _, bad := range []string{"", "-x", "a b", "a/b", strings.Repeat("x", 129), "x\n"} {
		if err := s.Set(ctx, bad, "v"); err == nil {
			t.Errorf("Set(%q) was accepted", bad)
		}
	}
	if err := s.Set(ctx, "empty", ""); err == nil {
		t.Error("an empty value was accepted")
	}
	must(t, s.Delete(ctx, "jira-AUTH_HEADER"))
	if names, err := s.List(ctx); err != nil || len(names) != 0 {
		t.Fatalf("List at the end = %q, %v", names, err)
	}
}

func TestSecretsFileStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, credentialsFile)
	secretsContract(t, NewFileStore(path), filepath.Join(dir, "locks"))

	// The file is 0600, and a secret in it is not next to anything else.
	s := NewSecrets(NewFileStore(path), SecretsOptions{})
	must(t, s.Set(context.Background(), "k", "SECRET-in-file"))
	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the file has mode %v", fi.Mode().Perm())
	}
}

// Several writers at once (the lock serializes the list of names): every
// name lands.
func TestSecretsConcurrentSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each its own FileStore and Secrets, as separate processes have.
			s := NewSecrets(NewFileStore(filepath.Join(dir, credentialsFile)), SecretsOptions{LockDir: filepath.Join(dir, "locks")})
			if err := s.Set(ctx, fmt.Sprintf("s%d", i), "SECRET-v"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	names, err := NewSecrets(NewFileStore(filepath.Join(dir, credentialsFile)), SecretsOptions{}).List(ctx)
	must(t, err)
	if len(names) != 8 {
		t.Fatalf("List = %q, want 8 names", names)
	}
}

// The keychain (gnome-keyring in a private D-Bus session): the value is
// in the keychain and not in the file.
func TestSecretsKeyring(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.Real) {
		return
	}
	ctx := context.Background()
	opts := KeyringOptions{Service: "mcptray-test-" + randomHex(4), Timeout: 10 * time.Second}
	dir := t.TempDir()
	path := filepath.Join(dir, credentialsFile)
	st, warning, err := OpenStore(ctx, StoreAuto, path, opts)
	must(t, err)
	if st.Name() != "keychain" || warning != "" {
		t.Fatalf("OpenStore(auto) = %s, warning %q", st.Name(), warning)
	}
	secretsContract(t, st, filepath.Join(dir, "locks"))

	s := NewSecrets(st, SecretsOptions{LockDir: filepath.Join(dir, "locks")})
	must(t, s.Set(ctx, "api", "SECRET-in-keychain"))
	c, err := NewKeyringStore(opts).Load(ctx, SecretKey("api"))
	if err != nil || c.Secret != "SECRET-in-keychain" {
		t.Fatalf("the keychain itself does not have the secret: %v", err)
	}
	if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), "SECRET-in-keychain") {
		t.Fatal("the secret is in the file too")
	}
	if names, err := NewSecrets(NewKeyringStore(opts), SecretsOptions{}).List(ctx); err != nil || !slices.Equal(names, []string{"api"}) {
		t.Fatalf("List from the keychain alone = %q, %v", names, err)
	}
}

// No Secret Service: "auto" keeps secrets in the file, and says so.
func TestSecretsFileFallback(t *testing.T) {
	skipUnlessSecretService(t)
	t.Parallel()
	if !keyringtest.Setup(t, keyringtest.None) {
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, credentialsFile)
	st, warning, err := OpenStore(ctx, StoreAuto, path, KeyringOptions{Timeout: 10 * time.Second})
	must(t, err)
	if warning == "" {
		t.Fatal("no warning for the fallback")
	}
	secretsContract(t, st, filepath.Join(dir, "locks"))
	must(t, NewSecrets(st, SecretsOptions{}).Set(ctx, "api", "SECRET-in-file"))
	if v, err := NewSecrets(NewFileStore(path), SecretsOptions{}).Get(ctx, "api"); err != nil || v != "SECRET-in-file" {
		t.Fatalf("the file does not have the secret: %v", err)
	}
}
