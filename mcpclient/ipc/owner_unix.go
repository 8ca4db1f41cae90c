//go:build unix

package ipc

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mcptray/mcptray/mcpclient/paths"
)

// fileOwner is the uid owning fi, or -1.
func fileOwner(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// dirCheck is how strictly checkDir looks at a directory.
type dirCheck struct {
	socket   string // the hub's socket, for messages
	stateDir bool   // the state dir (Run), rather than the socket's directory
	hub      bool   // the hub asks: the temp-dir fallback must be exactly 0700
}

// checkDir refuses a directory that is not this user's own: owned by
// another uid, open to writes by group or others, or a symbolic link
// (Lstat: a link planted in the temp dir must not be followed). A state
// dir may be a symbolic link this user made to a directory that passes
// the same checks; the temp-dir fallback may not. A missing directory is
// returned as the Lstat error.
func checkDir(dir string, how dirCheck) error {
	uid := os.Geteuid()
	fallback := !how.stateDir && paths.IsTempSocketDir(dir)
	subject := "its directory " + dir
	if how.stateDir {
		subject = "the state dir " + dir
	} else if !fallback {
		subject = "its directory (the state dir) " + dir
	}
	refuse := func(owner int, problem string) error {
		return &UnsafeError{Socket: how.socket, Path: dir, Subject: subject, Problem: problem,
			Owner: owner, UID: uid, Fix: fixFor(dir, owner, uid, how.stateDir || !fallback), Hub: how.hub}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		owner := fileOwner(fi)
		if fallback || owner != uid {
			if owner != uid {
				return refuse(owner, "is a symbolic link owned by uid "+itoa(owner)+", not by this user (uid "+itoa(uid)+")")
			}
			return refuse(owner, "is a symbolic link, not a directory mcptray made")
		}
		if fi, err = os.Stat(dir); err != nil {
			return err
		}
	}
	owner := fileOwner(fi)
	if !fi.IsDir() {
		return refuse(owner, "is not a directory")
	}
	if owner != uid {
		return refuse(owner, ownedBy(owner, uid))
	}
	perm := fi.Mode().Perm()
	if how.hub && fallback && perm&0o077 != 0 {
		return refuse(owner, fmt.Sprintf("has mode %#o, not 0700", perm))
	}
	if perm&0o022 != 0 {
		return refuse(owner, fmt.Sprintf("is writable by group or others (mode %#o)", perm))
	}
	return nil
}

// checkSocket refuses, before anything is sent, a socket that is not this
// user's: its directory must pass checkDir and the socket file must be a
// socket owned by this user (Lstat). Nothing there is ErrNoHub.
func checkSocket(socket string) error {
	if err := checkDir(filepath.Dir(socket), dirCheck{socket: socket}); err != nil {
		if _, ok := err.(*UnsafeError); ok {
			return err
		}
		return fmt.Errorf("%w (socket %s): %v", ErrNoHub, socket, err)
	}
	fi, err := os.Lstat(socket)
	if err != nil {
		return fmt.Errorf("%w (socket %s): %v", ErrNoHub, socket, err)
	}
	uid := os.Geteuid()
	owner := fileOwner(fi)
	refuse := func(problem string) error {
		return &UnsafeError{Socket: socket, Path: socket, Subject: "the socket file", Problem: problem,
			Owner: owner, UID: uid, Fix: fixFor(socket, owner, uid, false)}
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return refuse("is not a socket (" + fi.Mode().Type().String() + ")")
	}
	if owner != uid {
		return refuse(ownedBy(owner, uid))
	}
	return nil
}

// checkServer refuses a connection served by a process of another uid,
// where the OS tells (Linux).
func checkServer(c net.Conn, socket string) error {
	uid, known, err := PeerUID(c)
	if err != nil {
		return fmt.Errorf("cannot check which user serves the mcptray socket %s (so nothing was sent to it): %w", socket, err)
	}
	if !known || uid == os.Geteuid() {
		return nil
	}
	return &UnsafeError{Socket: socket, Path: socket, Subject: "the process listening on it",
		Problem: "runs as uid " + itoa(uid) + ", not as this user (uid " + itoa(os.Geteuid()) + ")",
		Owner:   uid, UID: os.Geteuid(), Fix: peerFix(socket)}
}

func peerFix(socket string) string {
	dir := filepath.Dir(socket)
	if paths.IsTempSocketDir(dir) {
		return "Remove " + dir + " (an administrator can, if another user owns it or its files), or set MCPTRAY_HOME to a path shorter than 91 bytes so that the socket lives in your own state dir."
	}
	return "Stop the process serving it (`ss -xlp | grep " + socket + "` shows it), remove " + socket + " and start the hub again."
}

// PrepareHome creates the state dir (0700), or refuses an existing one
// that another user owns or that others may write to, then makes it 0700.
func PrepareHome(home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("cannot create the state dir %s: %w; set MCPTRAY_HOME to a directory of your own", home, err)
	}
	if err := checkDir(home, dirCheck{stateDir: true, hub: true}); err != nil {
		if _, ok := err.(*UnsafeError); ok {
			return err
		}
		return fmt.Errorf("cannot check the state dir %s: %w", home, err)
	}
	_ = os.Chmod(home, 0o700)
	return nil
}

// PrepareSocketDir makes sure the hub may listen on socket: in the state
// dir (prepared by PrepareHome) it checks that dir again; in the temp-dir
// fallback it creates the directory itself (0700), or refuses one that
// another user made first, one open to group or others, or a symbolic link.
func PrepareSocketDir(socket string) error {
	dir := filepath.Dir(socket)
	if paths.IsTempSocketDir(dir) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create the socket directory %s: %w; set MCPTRAY_HOME to a path shorter than 91 bytes so that the socket lives in the state dir", dir, err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the socket directory %s: %w", dir, err)
	}
	if err := checkDir(dir, dirCheck{socket: socket, hub: true}); err != nil {
		if _, ok := err.(*UnsafeError); ok {
			return err
		}
		return fmt.Errorf("cannot check the socket directory %s: %w", dir, err)
	}
	return nil
}
