//go:build linux || dragonfly || freebsd || netbsd || openbsd

package auth

import (
	"fmt"
	"os"
	"path/filepath"
)

// keyringPrecheck fails fast when there is no D-Bus session bus, and so no
// Secret Service. Without it godbus would try to autolaunch a bus with
// dbus-launch, leaving a stray daemon behind.
func keyringPrecheck() error {
	return sessionBusPrecheck(os.Getenv, os.Getuid(), func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	})
}

// sessionBusPrecheck mirrors how godbus finds the session bus.
func sessionBusPrecheck(getenv func(string) string, uid int, exists func(string) bool) error {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	dir := fmt.Sprintf("/run/user/%d", uid)
	if exists(filepath.Join(dir, "bus")) || exists(filepath.Join(dir, "dbus-session")) {
		return nil
	}
	return errNoSessionBus
}
