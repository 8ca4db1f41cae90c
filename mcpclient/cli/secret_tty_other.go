//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package cli

import (
	"errors"
	"os"
)

func isTerminal(*os.File) bool { return false }

func withoutEcho(*os.File, func() error) error {
	return errors.New("cannot hide input on this system")
}
