package autostart

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestDesktopEntry(t *testing.T) {
	for _, exe := range []string{"/usr/bin/mcptray", "/home/me/My Apps/mcp$tray", `/opt/we"ird\dir/100%/mcptray`} {
		d := desktopEntry(exe, nil)
		if !strings.HasPrefix(d, "[Desktop Entry]\n") || !strings.Contains(d, "Type=Application\n") {
			t.Fatalf("%q", d)
		}
		cmd, enabled := desktopExec(d)
		if !enabled {
			t.Error("not enabled")
		}
		if got := unquoteDesktop(t, cmd); got != exe {
			t.Errorf("Exec %q reads back as %q, want %q", cmd, got, exe)
		}
	}
	if _, enabled := desktopExec("[Desktop Entry]\nExec=x\nHidden=true\n"); enabled {
		t.Error("Hidden=true counts as enabled")
	}
}

// unquoteDesktop reads one Exec argument as a desktop environment does.
func unquoteDesktop(t *testing.T, s string) string {
	t.Helper()
	s = strings.ReplaceAll(s, "%%", "%")
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	if !strings.HasSuffix(s, `"`) {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

func TestLaunchAgent(t *testing.T) {
	p := launchAgent("/Applications/mcp & tray.app/Contents/MacOS/mcptray", []string{"--x"})
	var doc struct {
		Dict struct {
			Keys   []string `xml:"key"`
			String []string `xml:"string"`
			Array  struct {
				Strings []string `xml:"string"`
			} `xml:"array"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal([]byte(p), &doc); err != nil {
		t.Fatalf("invalid plist: %v\n%s", err, p)
	}
	if doc.Dict.String[0] != Label {
		t.Errorf("label %v", doc.Dict.String)
	}
	if got := doc.Dict.Array.Strings; len(got) != 2 || got[0] != "/Applications/mcp & tray.app/Contents/MacOS/mcptray" || got[1] != "--x" {
		t.Errorf("ProgramArguments %q", got)
	}
	if !strings.Contains(p, "<key>RunAtLoad</key>\n\t<true/>") {
		t.Error("not RunAtLoad")
	}
}

func TestWindowsCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{`C:\Program Files\mcptray\mcptray.exe`},
		{`C:\mcptray\mcptray.exe`, "serve"},
		{`C:\a b\x.exe`, `say "hi"`, `trailing\`, `dir with space\`, ""},
	} {
		line := windowsCommandLine(args[0], args[1:])
		if got := commandLineToArgv(line); strings.Join(got, "|") != strings.Join(args, "|") {
			t.Errorf("%q → %q → %q", args, line, got)
		}
	}
}

// commandLineToArgv follows CommandLineToArgvW's rules for arguments after
// the first (2n backslashes + quote → n and a quote toggle; 2n+1 → n and a
// literal quote; other backslashes are literal).
func commandLineToArgv(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					inQuote = !inQuote
				}
				have = true
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			have = true
		case c == '"':
			inQuote = !inQuote
			have = true
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}
