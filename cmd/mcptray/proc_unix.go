//go:build unix

package main

import (
	"errors"
	"syscall"
)

// processAlive tells whether a process of this user still runs.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
