//go:build !linux && !freebsd && !openbsd && !netbsd

package main

// trayHostPresent: macOS and Windows always have a tray (menu bar, notification area).
func trayHostPresent() bool { return true }
