package paths

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Names of mcptray's executables, without the ".exe" Windows adds.
const (
	HubName    = "mcptray"        // the tray app, the hub (`mcptray serve`) and the CLI
	BridgeName = "mcptray-bridge" // what IDE configs launch
)

// Sibling finds one of mcptray's executables (HubName or BridgeName) by the
// rule every caller shares — the bridge starting a hub, `mcptray install`
// and the tray's "Copy bridge command": beside the running executable as it
// was launched, else beside the file that path resolves to through
// symlinks, else on PATH. The path is absolute, since IDEs often start
// servers with a bare PATH, and is not itself resolved: a package
// manager's link (/opt/homebrew/bin/mcptray-bridge) outlives upgrades, the
// versioned file it points at does not.
func Sibling(name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = ""
	}
	return sibling(name, exe, runtime.GOOS, exec.LookPath)
}

func sibling(name, exe, goos string, lookPath func(string) (string, error)) (string, error) {
	if goos == "windows" {
		name += ".exe"
	}
	var dirs []string
	if exe != "" {
		dirs = append(dirs, filepath.Dir(exe))
		if real, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Abs(p)
		}
	}
	if p, err := lookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if exe == "" {
		exe = os.Args[0]
	}
	return "", fmt.Errorf("cannot find %s beside %s or on PATH", name, exe)
}
