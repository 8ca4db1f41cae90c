//go:build !windows

package winconsole

// Attach does nothing outside Windows.
func Attach() {}
