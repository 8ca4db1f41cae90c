//go:build unix

package bridge

import (
	"io"
	"os"
	"syscall"
)

// pollableStdio returns stdin and stdout in non-blocking mode when they are
// pipes or sockets, so that Go's network poller serves them: a blocking
// read parks an OS thread, and handing each message between threads costs
// more than the rest of the bridge. Terminals and files are left alone
// (their mode is shared with other processes).
func pollableStdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) {
	if f, ok := stdin.(*os.File); ok && f == os.Stdin && isPipe(f) {
		if err := syscall.SetNonblock(int(f.Fd()), true); err == nil {
			stdin = os.NewFile(f.Fd(), "stdin")
		}
	}
	if f, ok := stdout.(*os.File); ok && f == os.Stdout && isPipe(f) {
		if err := syscall.SetNonblock(int(f.Fd()), true); err == nil {
			stdout = os.NewFile(f.Fd(), "stdout")
		}
	}
	return stdin, stdout
}

func isPipe(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	m := st.Mode()
	return m&os.ModeNamedPipe != 0 || m&os.ModeSocket != 0
}
