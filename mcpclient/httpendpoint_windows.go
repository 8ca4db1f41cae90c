package mcpclient

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isAddrInUse reports a listen that failed because the port is taken.
func isAddrInUse(err error) bool {
	return errors.Is(err, windows.WSAEADDRINUSE) || errors.Is(err, windows.WSAEACCES)
}
