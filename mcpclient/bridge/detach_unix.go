//go:build unix

package bridge

import (
	"os/exec"
	"syscall"
)

// detach puts the hub in its own session, so that the IDE killing the
// bridge's process group leaves the hub alone.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
