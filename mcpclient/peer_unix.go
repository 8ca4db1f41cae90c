//go:build unix

package mcpclient

import (
	"fmt"
	"net"
	"os"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

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
