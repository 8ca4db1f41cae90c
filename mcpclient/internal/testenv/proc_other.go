//go:build !unix

package testenv

import "os/exec"

// setProcessGroup does nothing where there are no Unix process groups.
func setProcessGroup(*exec.Cmd) {}

// terminate kills the process: there is no SIGTERM here.
func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// kill kills the process.
func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
