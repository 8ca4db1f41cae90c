//go:build windows

package autostart

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// runKey is the per-user Run key: Explorer starts its values at logon.
const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

const location = `HKEY_CURRENT_USER\` + runKey + `\` + Name

func enable(exe string, args []string) (State, error) {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE|registry.QUERY_VALUE)
	if err != nil {
		return State{Location: location}, err
	}
	defer k.Close()
	if err := k.SetStringValue(Name, windowsCommandLine(exe, args)); err != nil {
		return State{Location: location}, err
	}
	return check()
}

func disable() (State, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return State{Location: location}, nil
	}
	if err != nil {
		return State{Location: location}, err
	}
	defer k.Close()
	if err := k.DeleteValue(Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return State{Location: location, Enabled: true}, err
	}
	return State{Location: location}, nil
}

func check() (State, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return State{Location: location}, nil
	}
	if err != nil {
		return State{Location: location}, err
	}
	defer k.Close()
	v, _, err := k.GetStringValue(Name)
	if errors.Is(err, registry.ErrNotExist) {
		return State{Location: location}, nil
	}
	if err != nil {
		return State{Location: location}, err
	}
	return State{Enabled: true, Location: location, Command: v}, nil
}
