//go:build unix

package mcpclient_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// ownerTestHub is a hub on home with an empty config.
func ownerTestHub(t *testing.T, home string) *mcpclient.Hub {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"mcpServers": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: cfg, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runRefused runs a hub that must refuse to start, and returns its error.
func runRefused(t *testing.T, h *mcpclient.Hub) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the hub ran on a socket path it must refuse")
		}
		t.Logf("refused: %v", err)
		var ue *ipc.UnsafeError
		if !errors.As(err, &ue) {
			t.Errorf("want an *ipc.UnsafeError, got %T: %v", err, err)
		}
		return err
	case <-time.After(5 * time.Second):
		cancel()
		<-done
		t.Fatal("the hub started on a socket path it must refuse")
		return nil
	}
}

func wantIn(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %q: %v", p, err)
		}
	}
}

// deepOwnerHome is a state dir too deep for a socket path: the hub's socket
// goes to the predictable temp-dir fallback.
func deepOwnerHome(t *testing.T) (home, dir string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), strings.Repeat("h", 60), strings.Repeat("i", 60))
	dir = filepath.Dir(paths.Socket(home))
	if filepath.Dir(dir) != filepath.Clean(os.TempDir()) {
		t.Fatalf("socket dir %s is not the temp-dir fallback", dir)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return home, dir
}

// TestHubSocketOwnership: another user can create the temp-dir fallback
// before the hub does (the path is predictable). The hub creates it
// itself, and refuses one another user made, one of its own that others
// may use, and a symbolic link planted there; it also refuses a state dir
// another user owns.
func TestHubSocketOwnership(t *testing.T) {
	t.Run("creates the fallback", func(t *testing.T) {
		home, dir := deepOwnerHome(t)
		h := ownerTestHub(t, home)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		defer func() { cancel(); <-done }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			pctx, c := context.WithTimeout(ctx, time.Second)
			_, err := ipc.Request(pctx, h.Socket(), ipc.Hello{Op: ipc.OpPing})
			c()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the hub on the fallback socket did not answer: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("fallback dir %s: %v %v, want a 0700 directory", dir, fi.Mode(), err)
		}
	})
	t.Run("foreign dir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to create a directory owned by another user (uid 65534); CI runs this as root")
		}
		home, dir := deepOwnerHome(t)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := runRefused(t, ownerTestHub(t, home))
		wantIn(t, err, dir, "owned by uid 65534", "MCPTRAY_HOME")
	})
	t.Run("open dir of ours", func(t *testing.T) {
		home, dir := deepOwnerHome(t)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		err := runRefused(t, ownerTestHub(t, home))
		wantIn(t, err, dir, "mode 0777")
	})
	t.Run("symlink", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to plant a link owned by another user (uid 65534); CI runs this as root")
		}
		home, dir := deepOwnerHome(t)
		// The link points at a 0700 directory of ours, so following it
		// would pass every check: only Lstat sees it was planted.
		if err := os.Symlink(t.TempDir(), dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := runRefused(t, ownerTestHub(t, home))
		wantIn(t, err, dir, "symbolic link")
	})
	t.Run("foreign state dir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to create a directory owned by another user (uid 65534); CI runs this as root")
		}
		home := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := runRefused(t, ownerTestHub(t, home))
		wantIn(t, err, "state dir "+home, "owned by uid 65534", "MCPTRAY_HOME")
	})
}
