//go:build !linux

package ipc

import "net"

// PeerUID is not available here (the standard library offers no
// LOCAL_PEERCRED): known is false. The socket's own directory and the
// socket file's owner, checked before connecting, keep other users out.
func PeerUID(net.Conn) (uid int, known bool, err error) { return 0, false, nil }
