//go:build unix && !linux

package mcpclient

import "net"

// peerUID is not available here; the socket's 0700 directory and 0600
// mode keep other users out.
func peerUID(*net.UnixConn) (int, bool, error) { return 0, false, nil }
