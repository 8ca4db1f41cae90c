// Package autostart starts mcptray when the user logs in: an XDG autostart
// entry on Linux and other Unix desktops, a LaunchAgent on macOS, a value
// under the Run key of the user's registry on Windows. Nothing needs
// administrator rights, and turning it off removes exactly what turning it
// on created.
package autostart

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// Name is the entry's name: the .desktop file, the Run value.
const Name = "mcptray"

// Label is the LaunchAgent's label (and plist file name).
const Label = "com.github.mcptray"

// State is whether mcptray starts at login.
type State struct {
	Enabled bool
	// Location is where the entry lives: a file, or a registry path.
	Location string
	// Command is what the entry runs, when enabled.
	Command string
}

// Executable is the running mcptray binary, resolved, to put in the entry.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Abs(exe)
}

// Enable makes exe (with args) start at login, replacing an older entry.
func Enable(exe string, args []string) (State, error) {
	if !filepath.IsAbs(exe) {
		return State{}, fmt.Errorf("autostart needs an absolute path, got %q", exe)
	}
	return enable(exe, args)
}

// Disable removes the entry; it is not an error when there is none.
func Disable() (State, error) { return disable() }

// Check reports the current state.
func Check() (State, error) { return check() }

// desktopEntry renders an XDG autostart entry (Desktop Entry Specification
// 1.5; the Exec key's quoting rules in "The Exec key").
func desktopEntry(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	for _, a := range append([]string{exe}, args...) {
		parts = append(parts, desktopQuote(a))
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=mcptray\n" +
		"Comment=Connection manager for remote MCP servers\n" +
		"Exec=" + strings.Join(parts, " ") + "\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// desktopQuote quotes an Exec argument: reserved characters need double
// quotes, inside which ", `, $ and \ are backslash-escaped; % is doubled.
// The file format then escapes each backslash once more.
func desktopQuote(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range a {
		switch r {
		case '"', '`', '$', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return strings.ReplaceAll(b.String(), `\`, `\\`)
}

// desktopExec reads the Exec line back (for Check), undoing desktopQuote.
func desktopExec(content string) (exec string, enabled bool) {
	enabled = true
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Exec":
			exec = strings.ReplaceAll(strings.TrimSpace(v), `\\`, `\`)
		case "Hidden":
			enabled = enabled && strings.TrimSpace(v) != "true"
		case "X-GNOME-Autostart-enabled":
			enabled = enabled && strings.TrimSpace(v) != "false"
		}
	}
	return exec, enabled
}

// launchAgent renders the LaunchAgent plist: run at load (login), once,
// with its output discarded (the hub logs to its own file).
func launchAgent(exe string, args []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlEscape(Label) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{exe}, args...) {
		b.WriteString("\t\t<string>" + xmlEscape(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<false/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.String()
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// windowsCommandLine quotes exe and args for a Run value, as
// CommandLineToArgvW reads them back.
func windowsCommandLine(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	for _, a := range append([]string{exe}, args...) {
		parts = append(parts, windowsQuote(a))
	}
	return strings.Join(parts, " ")
}

func windowsQuote(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for _, r := range a {
		switch r {
		case '\\':
			slashes++
			continue
		case '"':
			b.WriteString(strings.Repeat(`\`, 2*slashes+1))
		default:
			b.WriteString(strings.Repeat(`\`, slashes))
		}
		slashes = 0
		b.WriteRune(r)
	}
	b.WriteString(strings.Repeat(`\`, 2*slashes))
	b.WriteByte('"')
	return b.String()
}

// writeFileAtomic writes via a temp file and a rename.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, b, perm)
}
