// Package paths says where mcptray's files are: the per-user state dir and
// every file in it, and mcptray's own executables (Sibling). The hub, the
// bridge, the CLI, doctor and the tray call these functions instead of
// joining names themselves, so that they cannot disagree.
//
// It imports only the standard library: the bridge links it.
package paths

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Home is the state dir: MCPTRAY_HOME, else the OS user state dir.
func Home() (string, error) {
	if h := os.Getenv("MCPTRAY_HOME"); h != "" {
		return filepath.Abs(h)
	}
	switch runtime.GOOS {
	case "windows":
		d, err := os.UserCacheDir() // %LocalAppData%
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "mcptray"), nil
	case "darwin":
		d, err := os.UserConfigDir() // ~/Library/Application Support
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "mcptray"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mcptray"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a state dir (set MCPTRAY_HOME): %w", err)
	}
	return filepath.Join(h, ".local", "state", "mcptray"), nil
}

// Socket is the hub's socket under home. Unix socket paths are short
// (about 104 bytes); a home too deep gets a socket in the temp dir instead,
// in a directory named after the uid and home. That name is predictable
// (hub and bridges must agree on it without talking), so another user may
// create it first: the hub creates it itself or refuses it
// (ipc.PrepareSocketDir) and clients refuse a socket that is not this
// user's own (ipc.Dial).
func Socket(home string) string {
	p := filepath.Join(home, "hub.sock")
	if len(p) < 100 || runtime.GOOS == "windows" {
		return p
	}
	sum := 0
	for _, c := range home {
		sum = sum*31 + int(c)
	}
	return filepath.Join(os.TempDir(), tempSocketPrefix()+strconv.Itoa(sum&0xffffff), "hub.sock")
}

// IsTempSocketDir tells whether dir is a temp-dir socket directory that
// Socket picks for a state dir too deep for a socket path.
func IsTempSocketDir(dir string) bool {
	return filepath.Dir(dir) == filepath.Clean(os.TempDir()) &&
		strings.HasPrefix(filepath.Base(dir), tempSocketPrefix())
}

// tempSocketPrefix starts the name of this user's temp socket directories.
func tempSocketPrefix() string { return "mcptray-" + strconv.Itoa(os.Getuid()) + "-" }

// HubLock is the hub's single-instance lock; the holder's pid is in it.
func HubLock(home string) string { return filepath.Join(home, "hub.lock") }

// HubLog is the hub's log; logfile keeps rotated copies beside it
// (hub.log.1, …). A hub a bridge starts writes its stdout and stderr there
// too.
func HubLog(home string) string { return filepath.Join(home, "hub.log") }

// Credentials is the credential store's file (credentialStore "file", or
// "auto" without a usable keychain), with its lock beside it.
func Credentials(home string) string { return filepath.Join(home, "credentials.json") }

// AuthLocks is the directory of auth's per-server token locks.
func AuthLocks(home string) string { return filepath.Join(home, "locks") }
