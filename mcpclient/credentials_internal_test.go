package mcpclient

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// TestCredentialStoreModeChange: a reloaded config's credentialStore is
// the store the hub opens when it has not opened one yet; once one is open
// the change waits for a restart, and status says so until the config
// names the open store again.
func TestCredentialStoreModeChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := t.TempDir()
	fileStore := "file " + paths.Credentials(home)
	c := &credentials{mode: auth.StoreKeyring, home: home}

	if inUse, restart := c.setMode(auth.StoreFile); restart {
		t.Fatalf("setMode before opening: restart needed (store in use %q)", inUse)
	}
	s, err := c.get(ctx) // opens with the new mode: the keychain is never asked
	if err != nil || s.Name() != fileStore {
		t.Fatalf("store opened after the change = %v, %v; want %s", s, err, fileStore)
	}
	if name, warning := c.describe(); name != fileStore || warning != "" {
		t.Fatalf("describe = %q, %q; want %q and no warning", name, warning, fileStore)
	}

	inUse, restart := c.setMode(auth.StoreKeyring)
	if !restart || inUse != auth.StoreFile {
		t.Fatalf("setMode with the store open = %q, %v; want file, restart needed", inUse, restart)
	}
	name, warning := c.describe()
	if name != fileStore {
		t.Errorf("describe names %q after the change, want the open %q", name, fileStore)
	}
	for _, want := range []string{`credentialStore "keyring"`, `opened "file"`, "restart the hub"} {
		if !strings.Contains(warning, want) {
			t.Errorf("status warning %q lacks %q", warning, want)
		}
	}
	if s2, err := c.get(ctx); err != nil || s2 != s {
		t.Errorf("get after the change = %v, %v; want the open store", s2, err)
	}

	if _, restart := c.setMode(""); !restart { // "" is auto, still not file
		t.Error(`setMode(""): no restart needed with the file store open`)
	}
	if _, restart := c.setMode(auth.StoreFile); restart {
		t.Error("setMode back to the open store: restart still needed")
	}
	if _, warning := c.describe(); warning != "" {
		t.Errorf("warning %q once the config names the open store again", warning)
	}
}

// TestHubCredentialStoreReload: an edit of credentialStore while the hub
// runs with its store open shows in status and in the log as needing a
// restart; it is not silently ignored under "config reloaded".
func TestHubCredentialStoreReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.json")
	writeCfg := func(store string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(`{"credentialStore": "`+store+`", "mcpServers": {}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(auth.StoreFile)
	var logs syncBuffer
	h, err := NewHub(HubOptions{ConfigPath: cfgPath, Home: filepath.Join(dir, "home"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), ReloadInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s; status %+v\n%s", what, h.Status(), logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the hub did not start", func() bool { return strings.Contains(logs.String(), "hub started") })
	h.mu.Lock()
	creds := h.creds
	h.mu.Unlock()
	if _, err := creds.get(ctx); err != nil { // as a server's first 401 does
		t.Fatal(err)
	}
	fileStore := "file " + paths.Credentials(filepath.Join(dir, "home"))
	if st := h.Status(); st.CredentialStore != fileStore || st.CredentialWarning != "" {
		t.Fatalf("status before the edit: %q, %q", st.CredentialStore, st.CredentialWarning)
	}

	writeCfg(auth.StoreKeyring)
	waitFor("status does not say that the change needs a restart", func() bool {
		return strings.Contains(h.Status().CredentialWarning, "restart the hub")
	})
	if st := h.Status(); st.CredentialStore != fileStore {
		t.Errorf("status names %q, want the store in use, %q", st.CredentialStore, fileStore)
	}
	if l := logs.String(); !strings.Contains(l, "keeps the store it opened until it restarts") {
		t.Errorf("the log does not say that the change needs a restart:\n%s", l)
	}

	writeCfg(auth.StoreFile)
	waitFor("the warning stays after the config names the open store again", func() bool {
		return h.Status().CredentialWarning == ""
	})
}
