package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

func TestAddRemoveList(t *testing.T) {
	s := newSandbox(t)
	out := mustRun(t, "list")
	if !strings.Contains(out, "no servers") {
		t.Errorf("empty list: %s", out)
	}
	mustRun(t, "add", "jira", "https://mcp.atlassian.com/v1/sse")
	mustRun(t, "add", "gh", "https://api.githubcopilot.com/mcp/", "--header", "Authorization: Bearer ${env:GH_TOKEN}", "--header", "X-Team:blue", "--transport", "streamable-http")
	cfg, err := config.Load(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	gh := cfg.Servers["gh"]
	if gh.Transport != "streamable-http" || gh.Headers["Authorization"] != "Bearer ${env:GH_TOKEN}" || gh.Headers["X-Team"] != "blue" {
		t.Errorf("gh: %+v", gh)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "jira", "https://other.example/mcp"}, `already has a server "jira"`},
		{[]string{"add", "x", "ftp://nope"}, `field "url"`},
		{[]string{"add", "x", "https://x", "--transport", "websocket"}, `field "transport"`},
		{[]string{"add", "bad name", "https://x"}, "server name"},
		{[]string{"add", "x", "https://x", "--header", "NoColon"}, "Name: value"},
		{[]string{"remove", "nope"}, `no server named "nope"`},
	} {
		code, _, errs := run(t, bad.args...)
		if code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", bad.args, code, errs, bad.want)
		}
	}

	mustRun(t, "install", "gh", "--client", "cursor,windsurf", "--bridge", "/opt/mcptray/mcptray-bridge")
	out = mustRun(t, "list")
	if !strings.Contains(out, "Authorization,X-Team") || strings.Contains(out, "GH_TOKEN") || strings.Contains(out, "blue") {
		t.Errorf("list shows header values or lacks names:\n%s", out)
	}
	if !strings.Contains(out, "cursor,windsurf") {
		t.Errorf("list lacks the clients:\n%s", out)
	}
	out = mustRun(t, "remove", "gh")
	if !strings.Contains(out, "mcptray uninstall gh --client cursor") || !strings.Contains(out, "mcptray uninstall gh --client windsurf") {
		t.Errorf("remove does not point at the client entries:\n%s", out)
	}
	cfg, _ = config.Load(s.cfgPath)
	if _, ok := cfg.Servers["gh"]; ok || len(cfg.Servers) != 1 {
		t.Errorf("after remove: %v", cfg.Servers)
	}
}

func TestImportCommand(t *testing.T) {
	s := newSandbox(t)
	cursor := filepath.Join(s.home, ".cursor", "mcp.json")
	cursorSrc := `{
  // my servers
  "mcpServers": {
    "atlassian": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.atlassian.com/v1/sse", "--header", "Authorization: Bearer ${ATL_TOKEN}", "5598"]},
    "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/"]},
    "linear": {"url": "https://mcp.linear.app/mcp"},
    "broken": {"command": "npx", "args": ["mcp-remote"]}
  }
}
`
	writeFile(t, cursor, cursorSrc)
	desktop := filepath.Join(s.home, ".config", "Claude", "claude_desktop_config.json")
	desktopSrc := `{"mcpServers": {"notion": {"command": "npx", "args": ["-y", "mcp-remote@0.1.29", "https://mcp.notion.com/mcp", "--transport", "http-only"], "env": {"X": "1"}}}}`
	writeFile(t, desktop, desktopSrc)
	writeFile(t, filepath.Join(s.home, ".codex", "config.toml"), "model = \"o3\"\n[mcp_servers.bad\n")

	// A dry run writes nothing and shows both changes.
	out := mustRun(t, "import", "--from", "cursor,claude-desktop", "--replace", "--dry-run", "--bridge", "/opt/mcptray/mcptray-bridge")
	for _, w := range []string{
		"+ atlassian: import as atlassian: https://mcp.atlassian.com/v1/sse, transport auto, headers Authorization, callback port 5598",
		"- fs: skipped: runs a local program",
		"+ linear: import as linear",
		"- broken: skipped: runs mcp-remote without a server URL",
		"+ notion: import as notion: https://mcp.notion.com/mcp, transport streamable-http",
		"would change " + s.cfgPath,
		`+      "url": "https://mcp.notion.com/mcp"`,
		"would change " + cursor,
		`+    "atlassian": {"command": "/opt/mcptray/mcptray-bridge", "args": ["atlassian"]},`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "ATL_TOKEN}") && !strings.Contains(out, "${env:ATL_TOKEN}") {
		t.Errorf("the reference was not mapped:\n%s", out)
	}
	if _, err := os.Stat(s.cfgPath); !os.IsNotExist(err) {
		t.Fatal("the dry run created the config")
	}
	if readFile(t, cursor) != cursorSrc {
		t.Fatal("the dry run changed cursor's file")
	}

	// Without a source: every client config found; the broken TOML is reported.
	out = mustRun(t, "import")
	if !strings.Contains(out, "codex (") || !strings.Contains(out, "skipped: cannot read it") {
		t.Errorf("the broken codex file is not reported:\n%s", out)
	}
	if !strings.Contains(out, "added 3 servers") || !strings.Contains(out, "--replace") {
		t.Errorf("import:\n%s", out)
	}
	cfg, err := config.Load(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	atl := cfg.Servers["atlassian"]
	if atl.Headers["Authorization"] != "Bearer ${env:ATL_TOKEN}" || atl.OAuth == nil || atl.OAuth.CallbackPort != 5598 {
		t.Errorf("atlassian: %+v %+v", atl, atl.OAuth)
	}
	if readFile(t, cursor) != cursorSrc {
		t.Fatal("import without --replace changed cursor's file")
	}

	// Again with --replace: nothing new, the entries are rewritten.
	out = mustRun(t, "import", "--from", "cursor", "--replace", "--bridge", "/opt/mcptray/mcptray-bridge")
	if !strings.Contains(out, "= atlassian: already in mcptray") || !strings.Contains(out, "nothing new") {
		t.Errorf("second import:\n%s", out)
	}
	if !strings.Contains(out, "atlassian, linear now launch mcptray-bridge") {
		t.Errorf("replace:\n%s", out)
	}
	if readFile(t, cursor+".bak") != cursorSrc {
		t.Error("the backup is not the original file")
	}
	entries, err := ideconfig.ReadEntries(ideconfig.Target{Path: cursor, ServersKey: []string{"mcpServers"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		name, _ := ideconfig.BridgeServer(e.Fields)
		got[e.Key] = name
	}
	if got["atlassian"] != "atlassian" || got["linear"] != "linear" || got["fs"] != "" || got["broken"] != "" || len(got) != 4 {
		t.Errorf("cursor entries after replace: %v\n%s", got, readFile(t, cursor))
	}
	if !strings.Contains(readFile(t, cursor), "// my servers") {
		t.Error("the comment is gone")
	}
	// A third time: the bridge entries are recognised.
	out = mustRun(t, "import", "--from", "cursor", "--replace", "--bridge", "/opt/mcptray/mcptray-bridge")
	if !strings.Contains(out, "= atlassian: already launches mcptray-bridge atlassian") {
		t.Errorf("third import:\n%s", out)
	}

	// VS Code's older settings.json form is read too.
	writeFile(t, filepath.Join(s.home, ".config", "Code", "User", "settings.json"), `{
  "editor.fontSize": 13, // keep
  "mcp": {"servers": {"old-gh": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}}}
}`)
	out = mustRun(t, "import", "--from", "vscode")
	if !strings.Contains(out, "+ old-gh: import as old-gh") || !strings.Contains(out, "settings.json") {
		t.Errorf("vscode settings.json import:\n%s", out)
	}

	// A file argument, and a missing one.
	file := filepath.Join(s.home, "shared.json")
	writeFile(t, file, `{"servers": {"sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"}}}`)
	out = mustRun(t, "import", file)
	if !strings.Contains(out, "+ sentry: import as sentry") {
		t.Errorf("file import:\n%s", out)
	}
	if code, _, errs := run(t, "import", filepath.Join(s.home, "nope.json")); code != 1 || errs == "" {
		t.Errorf("missing file: %d %q", code, errs)
	}
}

// The hub's log file: rotated, every upstream line naming its server, and
// no secret from headers, URLs or server answers.
func TestServeLogsWithoutSecrets(t *testing.T) {
	s := newSandbox(t)
	t.Setenv("MCPTRAY_LOG_LEVEL", "debug")
	t.Setenv("LEAK_TOKEN", "SECRET-ENV-abc123")
	// An upstream that fails, echoing what a careless server echoes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpFailServer{}
	go srv.serve(ln)
	t.Cleanup(func() { ln.Close() })
	mustRun(t, "add", "leaky", fmt.Sprintf("http://%s/mcp?access_token=SECRET-QUERY-1&x=1", ln.Addr()),
		"--header", "Authorization: Bearer SECRET-HEADER-2", "--header", "Cookie: session=SECRET-COOKIE-3",
		"--header", "X-Api-Key: ${env:LEAK_TOKEN}", "--transport", "streamable-http")
	// And one whose errors carry its URL (connection refused).
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	goneAddr := gone.Addr().String()
	gone.Close()
	mustRun(t, "add", "gone", fmt.Sprintf("http://user:SECRET-PASS-7@%s/mcp?code=SECRET-CODE-6", goneAddr), "--transport", "streamable-http")

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Serve(ctx, cli.Env{Stdin: strings.NewReader(""), Stdout: &stderr, Stderr: &stderr}, nil)
	}()
	logPath := paths.HubLog(s.state)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Count(string(b), `"connect failed" server=leaky`) >= 2 && strings.Contains(string(b), `"connect failed" server=gone`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub logged no failed connect:\n%s\nstderr:\n%s", b, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d\n%s", code, stderr.String())
	}
	b := readFile(t, logPath)
	if !strings.Contains(b, "127.0.0.1") {
		t.Errorf("no failed URL in the log; the test proves less than it should:\n%s", b)
	}
	for _, secret := range []string{"SECRET-QUERY-1", "SECRET-HEADER-2", "SECRET-COOKIE-3", "SECRET-ENV-abc123", "SECRET-BODY-4", "SECRET-RT-5", "SECRET-CODE-6", "SECRET-PASS-7"} {
		if strings.Contains(b, secret) || strings.Contains(stderr.String(), secret) {
			t.Errorf("%s leaked into the log:\n%s", secret, b)
		}
	}
	if srv.requests() == 0 {
		t.Error("the upstream saw no request")
	}
	for _, line := range strings.Split(strings.TrimSpace(b), "\n") {
		if strings.Contains(line, "connect failed") && !strings.Contains(line, " server=") {
			t.Errorf("a server's line does not name it: %s", line)
		}
	}
	if !strings.Contains(stderr.String(), "hub started") {
		t.Errorf("nothing on stderr: %q", stderr.String())
	}

	// mcptray logs filters by server.
	out := mustRun(t, "logs", "leaky", "-n", "0")
	if out == "" || strings.Contains(out, "hub started") {
		t.Errorf("logs leaky:\n%s", out)
	}
	if out := mustRun(t, "logs", "nosuch"); out != "" {
		t.Errorf("logs for an unknown server: %q", out)
	}
	if out := mustRun(t, "logs", "-n", "1"); strings.Count(out, "\n") != 1 {
		t.Errorf("logs -n 1: %q", out)
	}
}

// httpFailServer answers every request with a 500 whose body carries
// secrets.
type httpFailServer struct {
	mu sync.Mutex
	n  int
}

func (s *httpFailServer) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
		go func() {
			defer c.Close()
			buf := make([]byte, 8192)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			c.Read(buf)
			body := `{"error":"boom","access_token":"SECRET-BODY-4","refresh_token":"SECRET-RT-5"}`
			fmt.Fprintf(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		}()
	}
}

func (s *httpFailServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logs -f keeps printing, across a rotation, until cancelled.
func TestLogsFollow(t *testing.T) {
	s := newSandbox(t)
	if err := os.MkdirAll(s.state, 0o700); err != nil {
		t.Fatal(err)
	}
	lf, err := logfile.Open(paths.HubLog(s.state), logfile.Options{MaxSize: 200, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	fmt.Fprintln(lf, "level=INFO msg=old server=a")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Logs(ctx, cli.Env{Stdout: &out, Stderr: &out}, []string{"a", "-f"})
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %q", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("msg=old")
	// ~75 bytes per round against a 200-byte cap: rotations between polls.
	// (A follower that polls sees one rotation at a time; the hub's 5 MiB
	// files never rotate twice within 200 ms.)
	for i := 0; i < 8; i++ {
		fmt.Fprintf(lf, "level=INFO msg=new%d server=a x=%s\n", i, strings.Repeat("y", 10))
		fmt.Fprintf(lf, "level=INFO msg=other%d server=b\n", i)
		waitFor(fmt.Sprintf("msg=new%d ", i))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	got := out.String()
	for i := 0; i < 8; i++ {
		if !strings.Contains(got, fmt.Sprintf("msg=new%d ", i)) {
			t.Errorf("lost line new%d:\n%s", i, got)
		}
	}
	if strings.Contains(got, "server=b") {
		t.Errorf("another server's lines:\n%s", got)
	}
	if len(logfile.Files(paths.HubLog(s.state), 2)) < 2 {
		t.Error("the log did not rotate; the test proves nothing")
	}
}

func TestDoctorCommand(t *testing.T) {
	s := newSandbox(t)
	fs := startFault(t)
	mustRun(t, "add", "ok", fs.URL())
	out := mustRun(t, "doctor")
	if !strings.Contains(out, "server ok  "+fs.URL()) || !strings.Contains(out, "everything checked out") && !strings.Contains(out, "nothing broken") {
		t.Errorf("doctor:\n%s", out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	mustRun(t, "add", "down", "http://"+addr+"/mcp")
	code, out, _ := run(t, "doctor", "--json")
	if code != 1 {
		t.Errorf("doctor with a broken server: exit %d", code)
	}
	var rep struct {
		Config   string
		Findings []struct{ Server, Check, Status, Summary, Fix string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Server == "down" && f.Check == "tcp" && f.Status == "fail" && strings.Contains(f.Summary, "refused") {
			found = true
		}
	}
	if !found || rep.Config != s.cfgPath {
		t.Errorf("findings: %+v", rep)
	}
	if code, _, _ := run(t, "doctor", "ok"); code != 0 {
		t.Errorf("doctor ok: exit %d", code)
	}

	// No usable keychain: auto falls back to the file; doctor warns once,
	// says where the credentials are and what to do, and does not fail.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	code, out, _ = run(t, "doctor", "ok", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	var cred *struct{ Server, Check, Status, Summary, Fix string }
	for i, f := range rep.Findings {
		if f.Check == "credentials" {
			cred = &rep.Findings[i]
		}
	}
	if code != 0 || cred == nil || cred.Status != "warn" || !strings.HasPrefix(cred.Summary, "file ") ||
		strings.Count(cred.Summary+cred.Fix, "not usable") != 2 || !strings.Contains(cred.Fix, "moves them there") {
		t.Errorf("doctor without a keychain: exit %d, credentials finding %+v", code, cred)
	}
}

func TestAutostartCommand(t *testing.T) {
	s := newSandbox(t)
	if out := mustRun(t, "autostart", "status"); !strings.HasPrefix(out, "off") {
		t.Errorf("status: %s", out)
	}
	code, out, errs := run(t, "autostart", "on")
	if code != 0 || !strings.Contains(out, "starts at login") {
		t.Fatalf("on: %d %s %s", code, out, errs)
	}
	if out := mustRun(t, "autostart", "status"); !strings.HasPrefix(out, "on: ") {
		t.Errorf("status: %s", out)
	}
	entry := filepath.Join(s.home, ".config", "autostart", "mcptray.desktop")
	if _, err := os.Stat(entry); err != nil && os.Getenv("GOOS") == "" {
		t.Logf("no XDG entry at %s (not Linux?): %v", entry, err)
	}
	mustRun(t, "autostart", "off")
	if out := mustRun(t, "autostart", "status"); !strings.HasPrefix(out, "off") {
		t.Errorf("status after off: %s", out)
	}
	if code, _, _ := run(t, "autostart", "maybe"); code != 2 {
		t.Errorf("bad argument: %d", code)
	}
}

// Claude Code keeps servers added in the default "local" scope per project
// in ~/.claude.json: import reads them, and --replace rewrites them where
// they are, with one backup of the original file.
func TestImportClaudeCodeProjects(t *testing.T) {
	s := newSandbox(t)
	file := filepath.Join(s.home, ".claude.json")
	src := `{
  "numStartups": 42,
  "mcpServers": {
    "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"}
  },
  "projects": {
    "/home/u/web": {
      "allowedTools": [],
      "mcpServers": {
        "linear": {"type": "sse", "url": "https://mcp.linear.app/sse"},
        "local-db": {"type": "stdio", "command": "node", "args": ["db.js"]}
      }
    },
    "/home/u/empty": {"mcpServers": {}},
    "/home/u/api": {
      "mcpServers": {
        "notion": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.notion.com/mcp"]}
      }
    }
  }
}
`
	writeFile(t, file, src)
	out := mustRun(t, "import", "--from", "claude-code", "--replace", "--bridge", "/opt/mcptray/mcptray-bridge")
	t.Log(out)
	for _, w := range []string{
		"claude-code (" + file + "):",
		"claude-code (project /home/u/web) (" + file + "):",
		"claude-code (project /home/u/api) (" + file + "):",
		"+ sentry: import as sentry",
		"+ linear: import as linear: https://mcp.linear.app/sse, transport sse",
		"- local-db: skipped: runs a local program",
		"+ notion: import as notion: https://mcp.notion.com/mcp",
		"added 3 servers",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "/home/u/empty") {
		t.Errorf("a project without servers is listed:\n%s", out)
	}
	cfg, err := config.Load(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Servers) != 3 || cfg.Servers["linear"].Transport != "sse" {
		t.Errorf("config: %+v", cfg.Servers)
	}
	if readFile(t, file+".bak") != src {
		t.Error("the backup is not the original file")
	}
	lists := map[string][]string{
		"":            {"mcpServers"},
		"/home/u/web": {"projects", "/home/u/web", "mcpServers"},
		"/home/u/api": {"projects", "/home/u/api", "mcpServers"},
	}
	want := map[string]map[string]string{
		"":            {"sentry": "sentry"},
		"/home/u/web": {"linear": "linear", "local-db": ""},
		"/home/u/api": {"notion": "notion"},
	}
	for proj, key := range lists {
		entries, err := ideconfig.ReadEntries(ideconfig.Target{Path: file, ServersKey: key})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			name, _ := ideconfig.BridgeServer(e.Fields)
			got[e.Key] = name
		}
		if !maps.Equal(got, want[proj]) {
			t.Errorf("project %q after replace: %v, want %v", proj, got, want[proj])
		}
	}
	var rest struct {
		NumStartups int `json:"numStartups"`
		Projects    map[string]struct {
			AllowedTools []string `json:"allowedTools"`
		} `json:"projects"`
	}
	if err := json.Unmarshal([]byte(readFile(t, file)), &rest); err != nil || rest.NumStartups != 42 ||
		rest.Projects["/home/u/web"].AllowedTools == nil || len(rest.Projects) != 3 {
		t.Errorf("unrelated content changed (%v):\n%s", err, readFile(t, file))
	}
	// Again: everything is recognised as a bridge entry, nothing changes.
	out = mustRun(t, "import", "--from", "claude-code", "--replace", "--bridge", "/opt/mcptray/mcptray-bridge")
	if !strings.Contains(out, "= notion: already launches mcptray-bridge notion") || !strings.Contains(out, "nothing new") {
		t.Errorf("second import:\n%s", out)
	}
}
