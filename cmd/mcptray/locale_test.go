package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoLocaleNoise: CLI commands under the POSIX locale (containers, CI,
// SSH) print no Fyne locale complaint.
func TestNoLocaleNoise(t *testing.T) {
	bin := filepath.Join(binaries(t), "mcptray")
	dir := t.TempDir()
	for _, lc := range []string{"LANG=C.UTF-8", "LC_ALL=POSIX", "LANG=C"} {
		cmd := exec.Command(bin, "list")
		cmd.Env = append(os.Environ(), "LC_ALL=", "LC_MESSAGES=", "LANG=", lc,
			"MCPTRAY_HOME="+filepath.Join(dir, "home"), "MCPTRAY_CONFIG="+filepath.Join(dir, "config.json"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			t.Fatalf("%s mcptray list: %v\n%s%s", lc, err, out, stderr.String())
		}
		if strings.Contains(stderr.String(), "Fyne") || strings.Contains(stderr.String(), "locale") {
			t.Errorf("%s mcptray list wrote to stderr:\n%s", lc, stderr.String())
		}
	}
}
