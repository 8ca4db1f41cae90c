package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ideconfig"
)

// For every client: install writes the entry, the file reads back the way
// the client reads it, and exactly the command and args it names, run as
// the client would run them, serve initialize and tools/call through the
// hub to a real MCP server.
func TestInstallRoundTrip(t *testing.T) {
	bridge := bridgeBin(t)
	s := newSandbox(t)
	// install finds the bridge on PATH (the test binary has none beside it).
	t.Setenv("PATH", filepath.Dir(bridge)+string(os.PathListSeparator)+os.Getenv("PATH"))
	fs := startFault(t)
	mustRun(t, "add", "echo-srv", fs.URL(), "--transport", "streamable-http")
	startHub(t, s, nil)

	for _, c := range ideconfig.Clients() {
		t.Run(c.ID, func(t *testing.T) {
			out := mustRun(t, "install", "echo-srv", "--client", c.ID)
			tgt, err := c.Target(ideconfig.OSEnv())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tgt.Path, s.home) {
				t.Fatalf("%s's file %s is outside the sandbox", c.ID, tgt.Path)
			}
			if !strings.Contains(out, "added echo-srv to "+tgt.Path) {
				t.Errorf("output: %s", out)
			}
			raw := readFile(t, tgt.Path)
			command, args := entryAsIDE(t, c, tgt, raw)
			if command != bridge || len(args) != 1 || args[0] != "echo-srv" {
				t.Fatalf("entry runs %q %q", command, args)
			}
			talk(t, command, args)

			// Idempotent, and uninstall leaves an empty server list.
			if out := mustRun(t, "install", "echo-srv", "--client", c.ID); !strings.Contains(out, "nothing to change") {
				t.Errorf("second install: %s", out)
			}
			mustRun(t, "uninstall", "echo-srv", "--client", c.ID)
			entries, err := ideconfig.ReadEntries(tgt)
			if err != nil || len(entries) != 0 {
				t.Fatalf("after uninstall: %v %v", entries, err)
			}
		})
	}
}

// entryAsIDE reads the entry the way the client does: strict JSON for the
// clients that use JSON.parse, JSONC (comments allowed) for the VS Code
// family, TOML for Codex.
func entryAsIDE(t *testing.T, c ideconfig.Client, tgt ideconfig.Target, raw string) (string, []string) {
	t.Helper()
	switch c.ID {
	case "claude-desktop", "claude-code", "gemini-cli":
		var doc map[string]map[string]struct {
			Type    string   `json:"type"`
			Command string   `json:"command"`
			Args    []string `json:"args"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatalf("%s: not strict JSON: %v\n%s", c.ID, err, raw)
		}
		e := doc["mcpServers"]["echo-srv"]
		if c.TypeStdio && e.Type != "stdio" {
			t.Errorf("type %q", e.Type)
		}
		return e.Command, e.Args
	}
	entries, err := ideconfig.ReadEntries(tgt)
	if err != nil {
		t.Fatalf("%s: %v\n%s", c.ID, err, raw)
	}
	for _, e := range entries {
		if e.Key == "echo-srv" {
			cmd, _ := e.Fields["command"].(string)
			var args []string
			list, _ := e.Fields["args"].([]any)
			for _, a := range list {
				s, _ := a.(string)
				args = append(args, s)
			}
			return cmd, args
		}
	}
	t.Fatalf("%s: no entry echo-srv in\n%s", c.ID, raw)
	return "", nil
}

// talk runs command args as a stdio MCP server and completes initialize
// and a tools/call of echo.
func talk(t *testing.T, command string, args []string) {
	t.Helper()
	cmd := exec.Command(command, args...)
	cmd.Env = os.Environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("the bridge did not exit when stdin closed; stderr:\n%s", stderr.String())
		}
	}()
	lines := make(chan []byte, 16)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			l, err := br.ReadBytes('\n')
			if len(l) > 0 {
				lines <- l
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	send := func(msg string) {
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatalf("write: %v (stderr: %s)", err, stderr.String())
		}
	}
	await := func(id int) map[string]any {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the bridge closed stdout; stderr:\n%s", stderr.String())
				}
				var m map[string]any
				if err := json.Unmarshal(l, &m); err != nil {
					t.Fatalf("not JSON on stdout: %q", l)
				}
				if m["id"] == float64(id) {
					if m["error"] != nil {
						t.Fatalf("error: %v", m["error"])
					}
					return m["result"].(map[string]any)
				}
			case <-timeout:
				t.Fatalf("no answer to %d; stderr:\n%s", id, stderr.String())
			}
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-ide","version":"1"}}}`)
	init := await(1)
	if init["protocolVersion"] == nil || init["serverInfo"] == nil {
		t.Fatalf("initialize result %v", init)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"round trip"}}}`)
	res := await(2)
	if b, _ := json.Marshal(res); !strings.Contains(string(b), "round trip") {
		t.Fatalf("tools/call result %s", b)
	}
}

// The real binary layout: install run from a directory with the bridge in
// it finds the bridge there; --bridge overrides; a bad name is refused.
func TestInstallFlags(t *testing.T) {
	s := newSandbox(t)
	t.Setenv("PATH", "")
	if code, _, errs := run(t, "install", "x", "--client", "cursor"); code != 1 || !strings.Contains(errs, "cannot find mcptray-bridge") {
		t.Errorf("no bridge anywhere: %d %s", code, errs)
	}
	if code, _, errs := run(t, "install", "bad name", "--client", "cursor", "--bridge", "/b"); code != 2 || !strings.Contains(errs, "not a valid server name") {
		t.Errorf("bad name: %d %s", code, errs)
	}
	if code, _, errs := run(t, "install", "x", "--client", "emacs", "--bridge", "/b"); code != 2 || !strings.Contains(errs, "unknown client") {
		t.Errorf("bad client: %d %s", code, errs)
	}
	if code, _, _ := run(t, "install", "x"); code != 2 {
		t.Errorf("no --client: %d", code)
	}
	// A foreign entry is kept unless forced; dry runs write nothing.
	cursor := filepath.Join(s.home, ".cursor", "mcp.json")
	orig := `{"mcpServers": {"x": {"url": "https://x.example/mcp"}}}`
	writeFile(t, cursor, orig)
	code, _, errs := run(t, "install", "x", "--client", "cursor", "--bridge", "/opt/b/mcptray-bridge")
	if code != 1 || !strings.Contains(errs, "does not use mcptray") || !strings.Contains(errs, "mcptray import --from cursor --replace") {
		t.Errorf("foreign: %d %s", code, errs)
	}
	out := mustRun(t, "install", "x", "--client", "cursor", "--bridge", "/opt/b/mcptray-bridge", "--force", "--dry-run")
	if !strings.Contains(out, `-{"mcpServers": {"x": {"url": "https://x.example/mcp"}}}`) || !strings.Contains(out, `+{"mcpServers": {"x": {"command": "/opt/b/mcptray-bridge", "args": ["x"]}}}`) {
		t.Errorf("dry run diff:\n%s", out)
	}
	if readFile(t, cursor) != orig {
		t.Fatal("the dry run wrote")
	}
	mustRun(t, "install", "x", "--client", "cursor", "--bridge", "/opt/b/mcptray-bridge", "--force")
	if readFile(t, cursor+".bak") != orig {
		t.Error("no backup of the original")
	}
	out = mustRun(t, "uninstall", "x", "--client", "cursor", "--dry-run")
	if !strings.Contains(out, "would change") {
		t.Errorf("uninstall dry run: %s", out)
	}
	out = mustRun(t, "uninstall", "x", "--client", "cursor")
	if !strings.Contains(out, "removed x from") {
		t.Errorf("uninstall: %s", out)
	}
	if got := readFile(t, cursor); got != `{"mcpServers": {}}` {
		t.Errorf("after uninstall: %s", got)
	}
	if out := mustRun(t, "uninstall", "x", "--client", "cursor"); !strings.Contains(out, "no server") {
		t.Errorf("uninstall twice: %s", out)
	}
}
