package keyringtest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestOnlyTestsImportIt checks that no package of the module imports
// keyringtest outside its tests, on any of the platforms mcptray ships for:
// test support must not reach a binary.
func TestOnlyTestsImportIt(t *testing.T) {
	const self = "github.com/mcptray/mcptray/auth/keyringtest"
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the module's packages")
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command(goBin, "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/mcptray/mcptray/...")
		cmd.Env = append(os.Environ(), "GOOS="+goos)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list: %v", goos, err)
		}
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			if len(fields) > 0 && fields[0] != self && slices.Contains(fields[1:], self) {
				t.Errorf("GOOS=%s: %s imports %s outside its tests", goos, fields[0], self)
			}
		}
	}
}

func TestChildEnv(t *testing.T) {
	env := []string{"PATH=/bin", "HOME=/home/u", "MCPTRAY_HOME=/x", "MCPTRAY_CONFIG=/c.json", "BROWSER=firefox",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1/bus", "EXTRA=old", "MCPTRAY_KEYRINGTEST_MODE=hang"}
	got := childEnv(env, []string{"MCPTRAY_KEYRINGTEST_MODE=real", "HOME=/tmp/h", "EXTRA=new"})
	want := []string{"PATH=/bin", "MCPTRAY_KEYRINGTEST_MODE=real", "HOME=/tmp/h", "EXTRA=new"}
	if !slices.Equal(got, want) {
		t.Fatalf("childEnv = %q, want %q", got, want)
	}
}
