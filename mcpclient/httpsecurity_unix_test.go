//go:build unix

package mcpclient_test

import (
	"syscall"
	"testing"
)

// raiseFileLimit lifts the soft limit on open files to at least n (up to
// the hard limit), or skips the test.
func raiseFileLimit(t *testing.T, n uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	if rl.Cur >= n {
		return
	}
	if rl.Max < n {
		t.Skipf("the hard limit on open files is %d, under %d", rl.Max, n)
	}
	old := rl.Cur
	rl.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { rl.Cur = old; _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) })
}
