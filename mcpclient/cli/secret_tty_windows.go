package cli

import (
	"os"

	"golang.org/x/sys/windows"
)

// isTerminal reports whether f is a console.
func isTerminal(f *os.File) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}

// withoutEcho runs fn with the console f not echoing what is typed, and
// restores it after.
func withoutEcho(f *os.File, fn func() error) error {
	h := windows.Handle(f.Fd())
	var old uint32
	if err := windows.GetConsoleMode(h, &old); err != nil {
		return err
	}
	quiet := (old &^ windows.ENABLE_ECHO_INPUT) | windows.ENABLE_LINE_INPUT | windows.ENABLE_PROCESSED_INPUT
	if err := windows.SetConsoleMode(h, quiet); err != nil {
		return err
	}
	defer windows.SetConsoleMode(h, old) //nolint:errcheck // best effort: restoring the console
	return fn()
}
