//go:build !windows && !darwin

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// desktopPath is $XDG_CONFIG_HOME/autostart/mcptray.desktop (XDG
// Autostart Specification), ~/.config when XDG_CONFIG_HOME is unset.
func desktopPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", Name+".desktop"), nil
}

func enable(exe string, args []string) (State, error) {
	p, err := desktopPath()
	if err != nil {
		return State{}, err
	}
	if err := writeFileAtomic(p, []byte(desktopEntry(exe, args)), 0o644); err != nil {
		return State{Location: p}, err
	}
	return check()
}

func disable() (State, error) {
	p, err := desktopPath()
	if err != nil {
		return State{}, err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return State{Location: p, Enabled: true}, err
	}
	return State{Location: p}, nil
}

func check() (State, error) {
	p, err := desktopPath()
	if err != nil {
		return State{}, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Location: p}, nil
	}
	if err != nil {
		return State{Location: p}, err
	}
	cmd, enabled := desktopExec(string(b))
	return State{Enabled: enabled, Location: p, Command: cmd}, nil
}
