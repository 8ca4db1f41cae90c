package ideconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const testBridge = "/opt/mcptray/bin/mcptray-bridge"

// strictJSON are the clients that read plain JSON (no comments).
var strictJSON = map[string]bool{"claude-desktop": true, "claude-code": true}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, UnifiedDiff("golden", "got", want, got))
	}
}

func fixtureExt(c Client) string {
	if c.Format == TOML {
		return ".toml"
	}
	return ".json"
}

// checkAsIDE parses the file the way the client does and checks that
// entry key launches testBridge with [server].
func checkAsIDE(t *testing.T, c Client, b []byte, key, server string) {
	t.Helper()
	tgt := Target{Client: c.ID, Format: c.Format, ServersKey: c.ServersKey, TypeStdio: c.TypeStdio}
	if c.Format == JSON && strictJSON[c.ID] && !json.Valid(b) {
		t.Fatalf("%s wrote invalid strict JSON:\n%s", c.ID, b)
	}
	entries, err := parseEntries(tgt, b)
	if err != nil {
		t.Fatalf("%s: the written file does not parse: %v\n%s", c.ID, err, b)
	}
	for _, e := range entries {
		if e.Key != key {
			continue
		}
		if e.Fields["command"] != testBridge || !equalStrings(stringList(e.Fields["args"]), []string{server}) {
			t.Fatalf("%s: entry %s = %v", c.ID, key, e.Fields)
		}
		if c.TypeStdio && e.Fields["type"] != "stdio" {
			t.Fatalf("%s: entry %s has no type stdio: %v", c.ID, key, e.Fields)
		}
		return
	}
	t.Fatalf("%s: no entry %q in\n%s", c.ID, key, b)
}

func TestInstallGolden(t *testing.T) {
	for _, c := range Clients() {
		for _, tc := range []string{"missing", "empty", "full"} {
			t.Run(c.ID+"/"+tc, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				tgt := Target{Client: c.ID, Path: filepath.Join(dir, "sub", "config"+fixtureExt(c)), Format: c.Format, ServersKey: c.ServersKey, TypeStdio: c.TypeStdio}
				var input []byte
				switch tc {
				case "empty":
					if err := os.MkdirAll(filepath.Dir(tgt.Path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(tgt.Path, nil, 0o644); err != nil {
						t.Fatal(err)
					}
				case "full":
					var err error
					input, err = os.ReadFile(filepath.Join("testdata", "full", c.ID+fixtureExt(c)))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.MkdirAll(filepath.Dir(tgt.Path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(tgt.Path, input, 0o640); err != nil {
						t.Fatal(err)
					}
				}

				// Dry run: a diff, nothing written.
				ch, err := Install(tgt, "jira", testBridge, []string{"jira"}, Options{DryRun: true})
				if err != nil {
					t.Fatal(err)
				}
				if ch.Written || ch.Action != ActionAdded || !strings.Contains(ch.Diff(), `+`) {
					t.Fatalf("dry run: %+v\n%s", ch, ch.Diff())
				}
				if got, _, _ := readFile(tgt.Path); !bytes.Equal(got, input) {
					t.Fatal("dry run wrote the file")
				}

				ch, err = Install(tgt, "jira", testBridge, []string{"jira"}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !ch.Written || ch.Action != ActionAdded {
					t.Fatalf("install: %+v", ch)
				}
				installed, err := os.ReadFile(tgt.Path)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, c.ID+"-"+tc+"-install.golden", installed)
				checkAsIDE(t, c, installed, "jira", "jira")
				if tc == "full" {
					bak, err := os.ReadFile(tgt.Path + ".bak")
					if err != nil || !bytes.Equal(bak, input) {
						t.Fatalf("backup: %v, %q", err, bak)
					}
					if st, _ := os.Stat(tgt.Path); st.Mode().Perm() != 0o640 {
						t.Errorf("mode %v, want the original 0640", st.Mode().Perm())
					}
				}

				// Twice: nothing to do.
				ch, err = Install(tgt, "jira", testBridge, []string{"jira"}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if ch.Written || ch.Action != ActionUnchanged || ch.Diff() != "" {
					t.Fatalf("second install: %+v\n%s", ch, ch.Diff())
				}

				ch, err = Uninstall(tgt, "jira", Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !ch.Written || ch.Action != ActionRemoved {
					t.Fatalf("uninstall: %+v", ch)
				}
				after, _ := os.ReadFile(tgt.Path)
				if tc == "full" {
					// Everything unrelated survives byte-for-byte.
					if !bytes.Equal(after, input) {
						t.Fatalf("uninstall did not restore the file:\n%s", UnifiedDiff("input", "after", input, after))
					}
				} else {
					golden(t, c.ID+"-"+tc+"-uninstall.golden", after)
				}
				ch, err = Uninstall(tgt, "jira", Options{})
				if err != nil || ch.Written || ch.Action != ActionAbsent {
					t.Fatalf("second uninstall: %+v, %v", ch, err)
				}
			})
		}
	}
}

// An existing bridge entry keeps its other settings when the binary moves;
// a foreign entry is kept unless forced.
func TestInstallUpdateAndForeign(t *testing.T) {
	for _, c := range Clients() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			input, err := os.ReadFile(filepath.Join("testdata", "full", c.ID+fixtureExt(c)))
			if err != nil {
				t.Fatal(err)
			}
			tgt := Target{Client: c.ID, Path: filepath.Join(t.TempDir(), "config"+fixtureExt(c)), Format: c.Format, ServersKey: c.ServersKey, TypeStdio: c.TypeStdio}
			if err := os.WriteFile(tgt.Path, input, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Install(tgt, "jira", "/old/place/mcptray-bridge", []string{"jira"}, Options{}); err != nil {
				t.Fatal(err)
			}
			ch, err := Install(tgt, "jira", testBridge, []string{"jira"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ch.Action != ActionUpdated {
				t.Fatalf("action %s", ch.Action)
			}
			d := ch.Diff()
			minus, plus := 0, 0
			for _, l := range strings.Split(d, "\n") {
				switch {
				case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
				case strings.HasPrefix(l, "-"):
					minus++
				case strings.HasPrefix(l, "+"):
					plus++
				}
			}
			if minus != 1 || plus != 1 || !strings.Contains(d, "/old/place") {
				t.Errorf("an update should change one line:\n%s", d)
			}
			checkAsIDE(t, c, ch.After, "jira", "jira")

			// Every fixture has a non-bridge entry; name it.
			entries, _ := parseEntries(tgt, input)
			var foreign string
			for _, e := range entries {
				if !isBridgeEntry(e.Fields) {
					foreign = e.Key
					break
				}
			}
			before, _ := os.ReadFile(tgt.Path)
			_, err = Install(tgt, foreign, testBridge, []string{foreign}, Options{})
			var fe *ForeignEntryError
			if !errors.As(err, &fe) || fe.Key != foreign {
				t.Fatalf("install over %s: %v", foreign, err)
			}
			if _, err := Uninstall(tgt, foreign, Options{}); !errors.As(err, &fe) {
				t.Fatalf("uninstall of %s: %v", foreign, err)
			}
			if now, _ := os.ReadFile(tgt.Path); !bytes.Equal(now, before) {
				t.Fatal("a refused install changed the file")
			}
			ch, err = Install(tgt, foreign, testBridge, []string{foreign}, Options{Force: true})
			if err != nil || ch.Action != ActionReplaced {
				t.Fatalf("forced install: %+v %v", ch, err)
			}
			checkAsIDE(t, c, ch.After, foreign, foreign)
		})
	}
}

// The file changing between read and write (an IDE saving it) is noticed
// and the edit is redone on the new content.
func TestWriteNoticesConcurrentChange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(p, []byte(`{"mcpServers": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tgt := Target{Path: p, ServersKey: []string{"mcpServers"}}
	c := &Change{Target: tgt, Before: []byte(`{"mcpServers": {}}`), After: []byte(`{}`), Existed: true}
	if err := os.WriteFile(p, []byte(`{"mcpServers": {}, "x": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.write(true); !errors.Is(err, errModified) {
		t.Fatalf("write over a changed file: %v", err)
	}
}

func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "mcp.json")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "mcp.json")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	tgt := Target{Path: link, ServersKey: []string{"mcpServers"}}
	if _, err := Install(tgt, "a", testBridge, []string{"a"}, Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v", err)
	}
	b, _ := os.ReadFile(real)
	if !strings.Contains(string(b), testBridge) {
		t.Fatalf("target not written: %s", b)
	}
}

func TestClientPaths(t *testing.T) {
	env := func(goos string, vars map[string]string) Env {
		return Env{GOOS: goos, Getenv: func(k string) string { return vars[k] }}
	}
	linux := env("linux", map[string]string{"HOME": "/home/u"})
	linuxXDG := env("linux", map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/xdg", "CODEX_HOME": "/ch", "CLAUDE_CONFIG_DIR": "/cc"})
	mac := env("darwin", map[string]string{"HOME": "/Users/u"})
	win := env("windows", map[string]string{"USERPROFILE": `C:\Users\u`, "APPDATA": `C:\Users\u\AppData\Roaming`})
	j := func(parts ...string) string { return filepath.Join(parts...) }
	want := map[string][4]string{ // linux, linux+overrides, darwin, windows
		"vscode":         {j("/home/u/.config/Code/User/mcp.json"), j("/xdg/Code/User/mcp.json"), j("/Users/u/Library/Application Support/Code/User/mcp.json"), j(`C:\Users\u\AppData\Roaming`, "Code", "User", "mcp.json")},
		"cursor":         {j("/home/u/.cursor/mcp.json"), j("/home/u/.cursor/mcp.json"), j("/Users/u/.cursor/mcp.json"), j(`C:\Users\u`, ".cursor", "mcp.json")},
		"claude-desktop": {j("/home/u/.config/Claude/claude_desktop_config.json"), j("/xdg/Claude/claude_desktop_config.json"), j("/Users/u/Library/Application Support/Claude/claude_desktop_config.json"), j(`C:\Users\u\AppData\Roaming`, "Claude", "claude_desktop_config.json")},
		"claude-code":    {j("/home/u/.claude.json"), j("/cc/.claude.json"), j("/Users/u/.claude.json"), j(`C:\Users\u`, ".claude.json")},
		"codex":          {j("/home/u/.codex/config.toml"), j("/ch/config.toml"), j("/Users/u/.codex/config.toml"), j(`C:\Users\u`, ".codex", "config.toml")},
		"windsurf":       {j("/home/u/.codeium/windsurf/mcp_config.json"), j("/home/u/.codeium/windsurf/mcp_config.json"), j("/Users/u/.codeium/windsurf/mcp_config.json"), j(`C:\Users\u`, ".codeium", "windsurf", "mcp_config.json")},
		"gemini-cli":     {j("/home/u/.gemini/settings.json"), j("/home/u/.gemini/settings.json"), j("/Users/u/.gemini/settings.json"), j(`C:\Users\u`, ".gemini", "settings.json")},
	}
	for _, c := range Clients() {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("no expected paths for %s", c.ID)
			continue
		}
		for i, e := range []Env{linux, linuxXDG, mac, win} {
			tgt, err := c.Target(e)
			if err != nil {
				t.Errorf("%s on %s: %v", c.ID, e.GOOS, err)
				continue
			}
			if tgt.Path != w[i] {
				t.Errorf("%s on %s (#%d): %s, want %s", c.ID, e.GOOS, i, tgt.Path, w[i])
			}
		}
	}
	// The MSIX-packaged Claude Desktop on Windows.
	local := t.TempDir()
	pkg := filepath.Join(local, "Packages", "Claude_pzs8sxrjxfjjc", "LocalCache", "Roaming", "Claude")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	msix := env("windows", map[string]string{"USERPROFILE": `C:\Users\u`, "APPDATA": `C:\Users\u\AppData\Roaming`, "LOCALAPPDATA": local})
	cd, _ := ClientByID("claude-desktop")
	if tgt, _ := cd.Target(msix); tgt.Path != filepath.Join(pkg, "claude_desktop_config.json") {
		t.Errorf("MSIX Claude Desktop: %s", tgt.Path)
	}
	if _, err := ClientByID("emacs"); err == nil || !strings.Contains(err.Error(), "vscode") {
		t.Errorf("unknown client: %v", err)
	}
}

func TestBridgeServer(t *testing.T) {
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"command": "/usr/bin/mcptray-bridge", "args": []any{"jira"}}, "jira"},
		{map[string]any{"command": `C:\mcptray\MCPTRAY-BRIDGE.EXE`, "args": []any{"--no-start", "gh"}}, "gh"},
		{map[string]any{"command": "/usr/bin/mcptray", "args": []any{"bridge", "x"}}, "x"},
		{map[string]any{"command": "/usr/bin/mcptray", "args": []any{"serve"}}, ""},
		{map[string]any{"command": "npx", "args": []any{"mcptray-bridge", "x"}}, ""},
		{map[string]any{"url": "https://x"}, ""},
		{nil, ""},
	} {
		got, _ := BridgeServer(tc.fields)
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.fields, got, tc.want)
		}
	}
}

func TestFileTarget(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content string
		key     string
		stdio   bool
	}{
		"a.json":      {`{"mcpServers": {}}`, "mcpServers", false},
		"b.json":      {`{"servers": {"x": {}}}`, "servers", true},
		"s.json":      {`{"editor.fontSize": 12, "mcp": {"servers": {}}}`, "mcp.servers", true},
		"none.json":   {`{"x": 1}`, "mcpServers", false},
		"config.toml": {`[mcp_servers.a]`, "mcp_servers", false},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		tgt, err := FileTarget(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(tgt.ServersKey, ".") != tc.key || tgt.TypeStdio != tc.stdio {
			t.Errorf("%s: %+v", name, tgt)
		}
	}
}
