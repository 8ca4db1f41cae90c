//go:build !unix

package ipc

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// On Windows the socket lives in the user's own %LocalAppData% (no
// temp-dir fallback), whose ACL keeps other users out; nothing more is
// checked here.

func checkSocket(string) error { return nil }

func checkServer(net.Conn, string) error { return nil }

// PrepareHome creates the state dir.
func PrepareHome(home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("cannot create the state dir %s: %w; set MCPTRAY_HOME to a directory of your own", home, err)
	}
	_ = os.Chmod(home, 0o700)
	return nil
}

// PrepareSocketDir creates the socket's directory.
func PrepareSocketDir(socket string) error {
	dir := filepath.Dir(socket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the socket directory %s: %w", dir, err)
	}
	return nil
}
