//go:build linux || freebsd || openbsd || netbsd

package main

import (
	"github.com/godbus/dbus/v5"
)

// trayHostPresent tells whether a StatusNotifierItem host (a panel's tray)
// is on the session bus; without one Fyne's tray icon appears nowhere.
func trayHostPresent() bool {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
