//go:build !windows

package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultOpenBrowserHonoursBROWSER(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "opened")
	script := filepath.Join(dir, "browser.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$2\" > "+out+".tmp && mv "+out+".tmp "+out+"\n"), 0o755))
	// The first command does not exist; the second gets "%s" replaced.
	t.Setenv("BROWSER", filepath.Join(dir, "missing")+":"+script+" --new-tab %s")
	const u = "https://auth.example/authorize?state=abc&x=1"
	must(t, DefaultOpenBrowser(context.Background(), u))
	var got []byte
	for i := 0; i < 500; i++ { // the command runs detached
		if b, err := os.ReadFile(out); err == nil {
			got = b
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if string(got) != u {
		t.Fatalf("browser got %q, want %q", got, u)
	}

	t.Setenv("BROWSER", filepath.Join(dir, "missing"))
	if err := DefaultOpenBrowser(context.Background(), u); err == nil || !strings.Contains(err.Error(), "$BROWSER") {
		t.Fatalf("missing $BROWSER command: %v", err)
	}
	if err := DefaultOpenBrowser(context.Background(), "file:///etc/passwd"); err == nil {
		t.Fatal("opened a file: URL")
	}
}
