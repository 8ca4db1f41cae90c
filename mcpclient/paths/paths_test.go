package paths

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestStateDirFiles(t *testing.T) {
	t.Parallel()
	home := filepath.Join("state", "mcptray")
	for got, want := range map[string]string{
		Socket(home):      filepath.Join(home, "hub.sock"),
		HubLock(home):     filepath.Join(home, "hub.lock"),
		HubLog(home):      filepath.Join(home, "hub.log"),
		Credentials(home): filepath.Join(home, "credentials.json"),
		AuthLocks(home):   filepath.Join(home, "locks"),
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// A state dir too deep for a socket path gets its socket in a directory of
// the temp dir that IsTempSocketDir recognizes, the same for the same home.
func TestSocketOfADeepHome(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps the socket in the state dir")
	}
	home := filepath.Join(os.TempDir(), strings.Repeat("d", 120))
	s := Socket(home)
	if len(s) >= 100 || filepath.Base(s) != "hub.sock" || !IsTempSocketDir(filepath.Dir(s)) || Socket(home) != s {
		t.Errorf("Socket(%s) = %s", home, s)
	}
	if other := Socket(home + "x"); other == s {
		t.Errorf("two homes share the socket %s", s)
	}
	if IsTempSocketDir(filepath.Join(os.TempDir(), "mcptray-x-1")) || IsTempSocketDir(filepath.Dir(Socket("short"))) {
		t.Error("IsTempSocketDir accepts a directory Socket does not pick")
	}
}
