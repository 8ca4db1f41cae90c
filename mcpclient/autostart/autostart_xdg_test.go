//go:build !windows && !darwin

package autostart

import (
	"os"
	"path/filepath"
	"testing"
)

func TestXDGAutostart(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", t.TempDir())
	want := filepath.Join(cfg, "autostart", "mcptray.desktop")

	st, err := Check()
	if err != nil || st.Enabled || st.Location != want {
		t.Fatalf("before: %+v %v", st, err)
	}
	if _, err := Enable("relative/mcptray", nil); err == nil {
		t.Fatal("a relative path was accepted")
	}
	st, err = Enable("/opt/mc ptray/mcptray", nil)
	if err != nil || !st.Enabled || st.Command != `"/opt/mc ptray/mcptray"` {
		t.Fatalf("enable: %+v %v", st, err)
	}
	if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("entry: %v %v", fi, err)
	}
	// Enabling again replaces the entry (a moved binary).
	if st, err = Enable("/usr/bin/mcptray", nil); err != nil || st.Command != "/usr/bin/mcptray" {
		t.Fatalf("re-enable: %+v %v", st, err)
	}
	if st, err = Disable(); err != nil || st.Enabled {
		t.Fatalf("disable: %+v %v", st, err)
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Fatalf("entry still there: %v", err)
	}
	if _, err = Disable(); err != nil {
		t.Fatalf("disable twice: %v", err)
	}
}
