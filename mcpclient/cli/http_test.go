package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/httptoken"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
)

// install --http writes url entries with the token for clients whose
// format takes them, says plainly which cannot, and needs no bridge;
// http-token rotate gives those entries the new token; uninstall removes
// them.
func TestInstallHTTPAndRotate(t *testing.T) {
	s := newSandbox(t)
	if err := os.WriteFile(s.cfgPath, []byte(`{"http": {"port": 31000}, "mcpServers": {"jira": {"url": "https://jira.example/mcp"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "install", "jira", "--client", "cursor,claude-desktop,codex", "--http")
	if code != 1 {
		t.Errorf("exit %d, want 1 (claude-desktop cannot)", code)
	}
	if !strings.Contains(errs, "claude-desktop cannot reach mcptray over HTTP") || !strings.Contains(errs, "without --http") {
		t.Errorf("stderr does not say why Claude Desktop cannot: %s", errs)
	}
	if !strings.Contains(out, "http://127.0.0.1:31000/mcp/jira") {
		t.Errorf("stdout: %s", out)
	}
	tok, err := httptoken.Read(s.state)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out+errs, tok) {
		t.Error("install printed the token")
	}
	entry := func(client string) map[string]any {
		c, _ := ideconfig.ClientByID(client)
		tgt, _ := c.Target(ideconfig.OSEnv())
		es, err := ideconfig.ReadEntries(tgt)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Key == "jira" {
				return e.Fields
			}
		}
		return nil
	}
	for _, c := range []string{"cursor", "codex"} {
		f := entry(c)
		if srv, ok := ideconfig.HTTPServer(f); !ok || srv != "jira" || !strings.Contains(strings.ReplaceAll(stringify(f), " ", ""), "Bearer"+tok) {
			t.Errorf("%s entry: %v", c, f)
		}
	}
	// list shows the clients that use a server over HTTP too.
	if out := mustRun(t, "list"); !strings.Contains(out, "cursor") {
		t.Errorf("list: %s", out)
	}

	out = mustRun(t, "http-token", "rotate")
	newTok, _ := httptoken.Read(s.state)
	if newTok == tok || strings.Contains(out, newTok) {
		t.Fatalf("rotate: %s", out)
	}
	for _, c := range []string{"cursor", "codex"} {
		if f := stringify(entry(c)); !strings.Contains(f, newTok) || strings.Contains(f, tok) {
			t.Errorf("%s after rotate: %s", c, f)
		}
	}
	if got := strings.TrimSpace(mustRun(t, "http-token")); got != newTok {
		t.Errorf("http-token show: %q", got)
	}
	mustRun(t, "uninstall", "jira", "--client", "cursor")
	if entry("cursor") != nil {
		t.Error("uninstall left the HTTP entry")
	}
}

func stringify(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=")
		switch v := v.(type) {
		case map[string]any:
			b.WriteString(stringify(v))
		default:
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", "")))
		}
		b.WriteString(";")
	}
	return b.String()
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// import --replace --http points the imported entries at the endpoint
// (url and token) where the client's config takes a header, and at the
// bridge where it does not (Claude Desktop), saying so; the token is never
// printed.
func TestImportReplaceHTTP(t *testing.T) {
	s := newSandbox(t)
	if err := os.WriteFile(s.cfgPath, []byte(`{"http": {"port": 31001}, "mcpServers": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.home, ".cursor", "mcp.json"), `{"mcpServers": {"linear": {"url": "https://mcp.linear.app/mcp"}}}`)
	writeFile(t, filepath.Join(s.home, ".config", "Claude", "claude_desktop_config.json"),
		`{"mcpServers": {"notion": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.notion.com/mcp"]}}}`)
	if code, _, errs := run(t, "import", "--from", "cursor", "--http"); code != 2 || !strings.Contains(errs, "--replace") {
		t.Errorf("--http without --replace: exit %d, %s", code, errs)
	}
	code, out, errs := run(t, "import", "--from", "cursor,claude-desktop", "--replace", "--http", "--bridge", "/opt/mcptray/mcptray-bridge")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(out, "http://127.0.0.1:31001/mcp/linear") || !strings.Contains(errs, "claude-desktop cannot reach mcptray over HTTP") {
		t.Errorf("stdout: %s\nstderr: %s", out, errs)
	}
	tok, err := httptoken.Read(s.state)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out+errs, tok) {
		t.Error("import printed the token")
	}
	entry := func(client, key string) map[string]any {
		c, _ := ideconfig.ClientByID(client)
		tgt, _ := c.Target(ideconfig.OSEnv())
		es, err := ideconfig.ReadEntries(tgt)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Key == key {
				return e.Fields
			}
		}
		return nil
	}
	if f := entry("cursor", "linear"); !strings.Contains(strings.ReplaceAll(stringify(f), " ", ""), "Bearer"+tok) {
		t.Errorf("cursor's linear entry: %v", f)
	} else if srv, ok := ideconfig.HTTPServer(f); !ok || srv != "linear" {
		t.Errorf("cursor's linear entry does not reach the endpoint: %v", f)
	}
	if srv, ok := ideconfig.BridgeServer(entry("claude-desktop", "notion")); !ok || srv != "notion" {
		t.Errorf("claude-desktop's notion entry: %v", entry("claude-desktop", "notion"))
	}
}
