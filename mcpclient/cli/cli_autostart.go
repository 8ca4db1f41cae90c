package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/autostart"
)

// Autostart turns starting mcptray at login on or off.
func Autostart(ctx context.Context, env Env, args []string) int {
	fs := newFlags("autostart", env)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray autostart on|off|status")
		return 2
	}
	switch fs.Arg(0) {
	case "on":
		exe, err := autostart.Executable()
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray autostart: cannot find this program: %v\n", err)
			return 1
		}
		if tmp := os.TempDir(); strings.HasPrefix(exe, filepath.Clean(tmp)+string(filepath.Separator)) {
			fmt.Fprintf(env.Stderr, "warning: %s is in the temp dir (go run?); the entry will break when it is cleaned up\n", exe)
		}
		st, err := autostart.Enable(exe, nil)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray autostart on: %v\n", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "mcptray starts at login: %s runs %s\n", st.Location, st.Command)
	case "off":
		st, err := autostart.Disable()
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray autostart off: %v\n", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "mcptray no longer starts at login (%s removed)\n", st.Location)
	case "status":
		st, err := autostart.Check()
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray autostart status: %v\n", err)
			return 1
		}
		if st.Enabled {
			fmt.Fprintf(env.Stdout, "on: %s runs %s\n", st.Location, st.Command)
		} else {
			fmt.Fprintf(env.Stdout, "off (turn it on with `mcptray autostart on`; the entry would be %s)\n", st.Location)
		}
	default:
		fmt.Fprintln(env.Stderr, "usage: mcptray autostart on|off|status")
		return 2
	}
	return 0
}
