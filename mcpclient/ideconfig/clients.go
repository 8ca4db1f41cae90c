// Package ideconfig reads and edits the MCP server lists of desktop MCP
// clients (VS Code, Cursor, Claude Desktop, Claude Code, Codex, Windsurf,
// Gemini CLI): it installs and removes entries that launch
// `mcptray-bridge NAME`, and turns the remote servers those files already
// name — plain url entries and `npx mcp-remote URL …` commands — into
// mcptray servers.
//
// Edits splice text: everything in a file other than the one entry changed
// stays byte-for-byte as it was, comments included. Writes are atomic (a
// temp file renamed over the original) and leave the previous content in
// FILE.bak.
package ideconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Format is a config file's syntax.
type Format int

// Formats of client config files.
const (
	// JSON is JSON read leniently: comments and trailing commas (JSONC, as
	// VS Code, Cursor and Windsurf accept) are kept, never added.
	JSON Format = iota
	// TOML is Codex's config.toml.
	TOML
)

func (f Format) String() string {
	if f == TOML {
		return "TOML"
	}
	return "JSON"
}

// Target is one config file and where its server list lives.
type Target struct {
	// Client is the client ID ("cursor"), or "" for a file named by path.
	Client string
	// Path is the file.
	Path   string
	Format Format
	// ServersKey is the path of the object that maps names to entries,
	// e.g. ["mcpServers"], ["servers"] or ["mcp_servers"].
	ServersKey []string
	// TypeStdio makes stdio entries carry "type": "stdio" (VS Code, Claude
	// Code).
	TypeStdio bool
	// Project is the project directory of a per-project server list
	// (Claude Code's "projects" in ~/.claude.json), "" for the user's.
	Project string
}

// Label names the target for messages: the client, else the file; and the
// project, for a per-project list.
func (t Target) Label() string {
	l := t.Path
	if t.Client != "" {
		l = t.Client
	}
	if t.Project != "" {
		l += " (project " + t.Project + ")"
	}
	return l
}

// Client is one supported MCP client.
type Client struct {
	// ID is what --client takes.
	ID string
	// Name is the product name.
	Name       string
	Format     Format
	ServersKey []string
	TypeStdio  bool
	path       func(Env) (string, error)
}

// Env is where a client's files are looked for: the OS and the
// environment variables (HOME, USERPROFILE, APPDATA, XDG_CONFIG_HOME,
// CODEX_HOME, CLAUDE_CONFIG_DIR). Tests point it at temp dirs.
type Env struct {
	GOOS   string
	Getenv func(string) string
}

// OSEnv is the running process's environment.
func OSEnv() Env { return Env{GOOS: runtime.GOOS, Getenv: os.Getenv} }

// Home is the user's home dir as os.UserHomeDir finds it on e.GOOS.
func (e Env) Home() (string, error) {
	v := "HOME"
	if e.GOOS == "windows" {
		v = "USERPROFILE"
	}
	if h := e.Getenv(v); h != "" {
		return h, nil
	}
	return "", fmt.Errorf("cannot find your home directory: $%s is not set", v)
}

// ConfigDir is the user config dir as os.UserConfigDir finds it on
// e.GOOS: %AppData% on Windows, ~/Library/Application Support on macOS,
// $XDG_CONFIG_HOME or ~/.config elsewhere.
func (e Env) ConfigDir() (string, error) {
	switch e.GOOS {
	case "windows":
		if d := e.Getenv("APPDATA"); d != "" {
			return d, nil
		}
		return "", errors.New("cannot find your config directory: %APPDATA% is not set")
	case "darwin", "ios":
		h, err := e.Home()
		if err != nil {
			return "", err
		}
		return filepath.Join(h, "Library", "Application Support"), nil
	}
	if d := e.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	h, err := e.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".config"), nil
}

func inHome(parts ...string) func(Env) (string, error) {
	return func(e Env) (string, error) {
		h, err := e.Home()
		if err != nil {
			return "", err
		}
		return filepath.Join(append([]string{h}, parts...)...), nil
	}
}

func inConfigDir(parts ...string) func(Env) (string, error) {
	return func(e Env) (string, error) {
		d, err := e.ConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(append([]string{d}, parts...)...), nil
	}
}

// The clients and their user-level MCP server lists. What the entries
// below do not say:
//
//   - VS Code's list was "mcp": {"servers": …} in settings.json before
//     mcp.json; import still reads it (ImportTargets).
//   - Claude Desktop for Windows is an MSIX package that reads its config
//     under %LOCALAPPDATA%\Packages\Claude_*\LocalCache\Roaming\Claude\
//     rather than %APPDATA%\Claude\: that directory wins when it exists
//     (claudeDesktopPath).
//   - Claude Code also keeps per-project lists under "projects" in the same
//     file (claudeProjectTargets), and rewrites the file often: edits
//     re-check it just before the rename.
var clients = []Client{
	{ID: "vscode", Name: "VS Code", ServersKey: []string{"servers"}, TypeStdio: true,
		path: inConfigDir("Code", "User", "mcp.json")},
	{ID: "cursor", Name: "Cursor", ServersKey: []string{"mcpServers"},
		path: inHome(".cursor", "mcp.json")},
	{ID: "claude-desktop", Name: "Claude Desktop", ServersKey: []string{"mcpServers"},
		path: claudeDesktopPath},
	{ID: "claude-code", Name: "Claude Code", ServersKey: []string{"mcpServers"}, TypeStdio: true,
		path: func(e Env) (string, error) {
			if d := e.Getenv("CLAUDE_CONFIG_DIR"); d != "" {
				return filepath.Join(d, ".claude.json"), nil
			}
			return inHome(".claude.json")(e)
		}},
	{ID: "codex", Name: "Codex", Format: TOML, ServersKey: []string{"mcp_servers"},
		path: func(e Env) (string, error) {
			if d := e.Getenv("CODEX_HOME"); d != "" {
				return filepath.Join(d, "config.toml"), nil
			}
			return inHome(".codex", "config.toml")(e)
		}},
	{ID: "windsurf", Name: "Windsurf", ServersKey: []string{"mcpServers"},
		path: inHome(".codeium", "windsurf", "mcp_config.json")},
	{ID: "gemini-cli", Name: "Gemini CLI", ServersKey: []string{"mcpServers"},
		path: inHome(".gemini", "settings.json")},
}

func claudeDesktopPath(e Env) (string, error) {
	const file = "claude_desktop_config.json"
	if e.GOOS == "windows" {
		if local := e.Getenv("LOCALAPPDATA"); local != "" {
			dirs, _ := filepath.Glob(filepath.Join(local, "Packages", "Claude_*", "LocalCache", "Roaming", "Claude"))
			sort.Strings(dirs)
			// Prefer a package whose config exists; else the only one.
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, file)); err == nil {
					return filepath.Join(d, file), nil
				}
			}
			if len(dirs) == 1 {
				return filepath.Join(dirs[0], file), nil
			}
		}
	}
	return inConfigDir("Claude", file)(e)
}

// Clients lists the supported clients.
func Clients() []Client { return append([]Client(nil), clients...) }

// ClientIDs lists the IDs --client accepts.
func ClientIDs() []string {
	ids := make([]string, len(clients))
	for i, c := range clients {
		ids[i] = c.ID
	}
	return ids
}

// ClientByID finds a client by ID (case-insensitive).
func ClientByID(id string) (Client, error) {
	for _, c := range clients {
		if strings.EqualFold(c.ID, id) {
			return c, nil
		}
	}
	return Client{}, fmt.Errorf("unknown client %q (known: %s)", id, strings.Join(ClientIDs(), ", "))
}

// Target is the client's user config file on e.
func (c Client) Target(e Env) (Target, error) {
	p, err := c.path(e)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %w", c.ID, err)
	}
	return Target{Client: c.ID, Path: p, Format: c.Format, ServersKey: c.ServersKey, TypeStdio: c.TypeStdio}, nil
}

// ImportTargets are the files import reads for the client: its Target,
// and for VS Code also the user settings.json, where servers lived under
// "mcp": {"servers": …} before mcp.json.
func (c Client) ImportTargets(e Env) ([]Target, error) {
	t, err := c.Target(e)
	if err != nil {
		return nil, err
	}
	out := []Target{t}
	switch c.ID {
	case "vscode":
		legacy := t
		legacy.Path = filepath.Join(filepath.Dir(t.Path), "settings.json")
		legacy.ServersKey = []string{"mcp", "servers"}
		out = append(out, legacy)
	case "claude-code":
		out = append(out, claudeProjectTargets(t)...)
	}
	return out, nil
}

// claudeProjectTargets lists the per-project server lists of Claude Code's
// file (servers added with `claude mcp add` in the default "local" scope
// live under "projects" → project directory → "mcpServers"), sorted by
// project. A file that cannot be read yields none: reading the user's
// list reports the problem.
func claudeProjectTargets(user Target) []Target {
	src, err := os.ReadFile(user.Path)
	if err != nil {
		return nil
	}
	var f struct {
		Projects map[string]struct {
			MCPServers map[string]json.RawMessage `json:"mcpServers"`
		} `json:"projects"`
	}
	if json.Unmarshal(src, &f) != nil {
		return nil
	}
	var out []Target
	for dir, p := range f.Projects {
		if len(p.MCPServers) == 0 {
			continue
		}
		t := user
		t.ServersKey = []string{"projects", dir, "mcpServers"}
		t.Project = dir
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	return out
}

// FileTarget describes a config file given by path: TOML by extension,
// else JSON; the server list is the first of mcpServers, servers,
// mcp_servers or mcp.servers (VS Code's settings.json) the file has, else
// mcpServers.
func FileTarget(path string) (Target, error) {
	t := Target{Path: path, ServersKey: []string{"mcpServers"}}
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		t.Format = TOML
		t.ServersKey = []string{"mcp_servers"}
		return t, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	root, err := parseJSONC(src)
	if err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range [][]string{{"mcpServers"}, {"servers"}, {"mcp_servers"}, {"mcp", "servers"}} {
		n := root
		for _, p := range k {
			m := n.member(p)
			if m == nil {
				n = nil
				break
			}
			n = m.value
		}
		if n != nil && n.kind == 'o' {
			t.ServersKey = k
			t.TypeStdio = k[len(k)-1] == "servers"
			return t, nil
		}
	}
	return t, nil
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
