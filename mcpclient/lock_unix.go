//go:build unix

package mcpclient

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// lock takes the hub's single-instance lock in the state dir, so that two
// hubs started at once cannot both take the socket.
func (h *Hub) lock() (func(), error) {
	p := filepath.Join(h.opts.Home, "hub.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the hub lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		pid, _ := strconv.Atoi(string(trimNL(b[:n])))
		if pid > 0 {
			return nil, &ErrHubRunning{Socket: h.socket, Info: nil, pid: pid}
		}
		return nil, &ErrHubRunning{Socket: h.socket}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// checkPeer refuses connections from other users where the OS tells
// (Linux); the clients check the hub the same way (ipc.Dial).
func checkPeer(c net.Conn) error {
	uid, ok, err := ipc.PeerUID(c)
	if err != nil {
		return fmt.Errorf("cannot read the peer's uid: %w", err)
	}
	if ok && uid != os.Geteuid() {
		return fmt.Errorf("peer uid %d is not this user (%d)", uid, os.Geteuid())
	}
	return nil
}
