package httptoken

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestLoadCreatesRotateReplaces(t *testing.T) {
	home := t.TempDir()
	tok, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if !Valid(tok) {
		t.Fatalf("token %q is not valid", tok)
	}
	st, err := os.Stat(Path(home))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", st.Mode().Perm())
	}
	again, err := Load(home)
	if err != nil || again != tok {
		t.Fatalf("second Load: %q %v, want the same token", again, err)
	}
	rot, err := Rotate(home)
	if err != nil || rot == tok || !Valid(rot) {
		t.Fatalf("Rotate: %q %v", rot, err)
	}
	if now, _ := Read(home); now != rot {
		t.Errorf("after Rotate the file has %q, want %q", now, rot)
	}
}

func TestReadRefusesLooseFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes")
	}
	home := t.TempDir()
	if err := os.WriteFile(Path(home), []byte(New()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(home); err == nil || !strings.Contains(err.Error(), "may be read by other users") {
		t.Errorf("a 0644 token file: %v", err)
	}
	if err := os.WriteFile(Path(home), []byte("hello"), 0o600); err == nil {
		_ = os.Chmod(Path(home), 0o600)
	}
	if _, err := Read(home); err == nil || !strings.Contains(err.Error(), "does not hold an mcptray token") {
		t.Errorf("a file of junk: %v", err)
	}
}
