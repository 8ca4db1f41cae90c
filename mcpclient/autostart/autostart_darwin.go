//go:build darwin

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// plistPath is ~/Library/LaunchAgents/LABEL.plist: launchd loads the
// user's agents from there at login.
func plistPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", Label+".plist"), nil
}

func enable(exe string, args []string) (State, error) {
	p, err := plistPath()
	if err != nil {
		return State{}, err
	}
	if err := writeFileAtomic(p, []byte(launchAgent(exe, args)), 0o644); err != nil {
		return State{Location: p}, err
	}
	return check()
}

func disable() (State, error) {
	p, err := plistPath()
	if err != nil {
		return State{}, err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return State{Location: p, Enabled: true}, err
	}
	return State{Location: p}, nil
}

var stringRE = regexp.MustCompile(`<string>([^<]*)</string>`)

func check() (State, error) {
	p, err := plistPath()
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
	st := State{Enabled: true, Location: p}
	if _, rest, ok := strings.Cut(string(b), "<key>ProgramArguments</key>"); ok {
		if arr, _, ok := strings.Cut(rest, "</array>"); ok {
			var parts []string
			for _, m := range stringRE.FindAllStringSubmatch(arr, -1) {
				parts = append(parts, m[1])
			}
			st.Command = strings.Join(parts, " ")
		}
	}
	return st, nil
}
