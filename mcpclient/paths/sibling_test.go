package paths

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSibling: the one rule for finding mcptray's executables. A package
// manager's layout: bin/mcptray is a link to versions/1/mcptray, and the
// bridge is in bin, in versions/1, in both or in neither.
func TestSibling(t *testing.T) {
	t.Parallel()
	onPath := filepath.Join(t.TempDir(), "mcptray-bridge")
	lookPath := func(name string) (string, error) {
		if name == "mcptray-bridge" {
			return onPath, nil
		}
		return "", errors.New("not on PATH")
	}
	for _, tc := range []struct {
		name      string
		inLinkDir bool // bin/mcptray-bridge exists
		inRealDir bool // versions/1/mcptray-bridge exists
		dirInLink bool // bin/mcptray-bridge is a directory
		want      string
	}{
		{"beside the link, as launched", true, true, false, "bin"},
		{"beside the file the link points at", false, true, false, "real"},
		{"a directory of that name is not it", false, true, true, "real"},
		{"on PATH", false, false, false, "path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			bin, real := filepath.Join(root, "bin"), filepath.Join(root, "versions", "1")
			for _, d := range []string{bin, real} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			touch(t, filepath.Join(real, "mcptray"))
			exe := filepath.Join(bin, "mcptray")
			if err := os.Symlink(filepath.Join(real, "mcptray"), exe); err != nil {
				t.Skipf("no symlinks here: %v", err)
			}
			if tc.inLinkDir {
				touch(t, filepath.Join(bin, "mcptray-bridge"))
			}
			if tc.dirInLink {
				if err := os.Mkdir(filepath.Join(bin, "mcptray-bridge"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if tc.inRealDir {
				touch(t, filepath.Join(real, "mcptray-bridge"))
			}
			want := map[string]string{"bin": filepath.Join(bin, "mcptray-bridge"), "real": filepath.Join(real, "mcptray-bridge"), "path": onPath}[tc.want]
			got, err := sibling(BridgeName, exe, "linux", lookPath)
			if err != nil || got != want {
				t.Fatalf("sibling = %q, %v; want %q", got, err, want)
			}
		})
	}
	if _, err := sibling(HubName, filepath.Join(t.TempDir(), "mcptray-bridge"), "linux", lookPath); err == nil ||
		!strings.Contains(err.Error(), "cannot find mcptray beside ") {
		t.Errorf("nowhere to be found: err = %v", err)
	}
}

// A relative PATH entry still gives an absolute path, and Windows names
// end in .exe.
func TestSiblingAbsoluteAndExe(t *testing.T) {
	t.Parallel()
	var asked string
	got, err := sibling(BridgeName, "", "windows", func(name string) (string, error) {
		asked = name
		return filepath.Join(".", name), nil
	})
	if err != nil || !filepath.IsAbs(got) || asked != "mcptray-bridge.exe" || filepath.Base(got) != "mcptray-bridge.exe" {
		t.Errorf("sibling = %q, %v (looked up %q); want an absolute mcptray-bridge.exe", got, err, asked)
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
}
