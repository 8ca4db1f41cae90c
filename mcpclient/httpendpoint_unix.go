//go:build !windows

package mcpclient

import (
	"errors"
	"syscall"
)

// isAddrInUse reports a listen that failed because the port is taken.
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
