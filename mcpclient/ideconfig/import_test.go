package ideconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// decodeEntry parses one entry the way ReadEntries does.
func decodeEntry(t *testing.T, raw string) map[string]any {
	t.Helper()
	n, err := parseJSONC([]byte(raw))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	m, _ := n.decode([]byte(raw)).(map[string]any)
	return m
}

// The shapes below are taken from client docs and READMEs of hosted
// servers (Atlassian, Notion, Linear, GitHub, Sentry, Cloudflare, …).
func TestConvertCorpus(t *testing.T) {
	auto, sh, sse := config.TransportAuto, config.TransportStreamable, config.TransportSSE
	type want struct {
		url       string
		transport string
		headers   map[string]string
		oauth     *config.OAuth
		disabled  bool
		skip      string // substring of the skip reason
		note      string // substring of one note
	}
	for _, tc := range []struct {
		name, client, entry string
		want                want
	}{
		{"npx mcp-remote", "cursor", `{"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.atlassian.com/v1/sse"]}`,
			want{url: "https://mcp.atlassian.com/v1/sse", transport: auto}},
		{"versioned with port", "claude-desktop", `{"command": "npx", "args": ["mcp-remote@0.1.29", "https://mcp.linear.app/sse", "3334"]}`,
			want{url: "https://mcp.linear.app/sse", transport: auto, oauth: &config.OAuth{CallbackPort: 3334}, note: "callback port 3334"}},
		{"header with env ref", "claude-desktop", `{"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.notion.com/mcp", "--header", "Authorization: Bearer ${NOTION_TOKEN}", "--transport", "http-only"], "env": {"NOTION_TOKEN": "ntn_x"}}`,
			want{url: "https://mcp.notion.com/mcp", transport: sh, headers: map[string]string{"Authorization": "Bearer ${env:NOTION_TOKEN}"}}},
		{"header without space", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x.example/mcp", "--header", "Authorization:${AUTH_HEADER}", "--header", "X-Team: blue"]}`,
			want{url: "https://x.example/mcp", transport: auto, headers: map[string]string{"Authorization": "${env:AUTH_HEADER}", "X-Team": "blue"}}},
		{"header before url, sse-only", "windsurf", `{"command": "npx", "args": ["-y", "mcp-remote", "--header", "X-A: 1", "https://x.example/sse", "--transport", "sse-only", "--debug"]}`,
			want{url: "https://x.example/sse", transport: sse, headers: map[string]string{"X-A": "1"}}},
		{"flag=value form", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x.example/mcp", "--transport=http-first", "--resource=https://tenant.example/"]}`,
			want{url: "https://x.example/mcp", transport: auto, oauth: &config.OAuth{Resource: "https://tenant.example/"}}},
		{"static client info", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x.example/mcp", "--static-oauth-client-info", "{\"client_id\":\"abc\",\"client_secret\":\"${SECRET}\"}", "--static-oauth-client-metadata", "{\"scope\":\"read write\"}"]}`,
			want{url: "https://x.example/mcp", transport: auto, oauth: &config.OAuth{ClientID: "abc", ClientSecret: "${env:SECRET}", Scopes: []string{"read", "write"}}}},
		{"windows cmd /c", "claude-desktop", `{"command": "cmd", "args": ["/c", "npx", "-y", "mcp-remote", "https://mcp.example.com/sse"]}`,
			want{url: "https://mcp.example.com/sse", transport: auto}},
		{"npx.cmd path", "cursor", `{"command": "C:\\Program Files\\nodejs\\npx.cmd", "args": ["-y", "mcp-remote@latest", "https://mcp.example.com/mcp"]}`,
			want{url: "https://mcp.example.com/mcp", transport: auto}},
		{"pnpm dlx", "cursor", `{"command": "pnpm", "args": ["dlx", "mcp-remote", "https://mcp.example.com/mcp"]}`,
			want{url: "https://mcp.example.com/mcp", transport: auto}},
		{"npx -p", "cursor", `{"command": "npx", "args": ["-y", "-p", "mcp-remote@0.1.0", "mcp-remote", "https://mcp.example.com/mcp"]}`,
			want{url: "https://mcp.example.com/mcp", transport: auto}},
		{"node proxy.js", "claude-desktop", `{"command": "/usr/bin/node", "args": ["/home/me/node_modules/mcp-remote/dist/proxy.js", "https://mcp.example.com/mcp"]}`,
			want{url: "https://mcp.example.com/mcp", transport: auto}},
		{"mcp-remote binary, host dropped", "cursor", `{"command": "mcp-remote", "args": ["https://mcp.example.com/mcp", "--host", "127.0.0.1", "--ignore-tool", "delete*"]}`,
			want{url: "https://mcp.example.com/mcp", transport: auto, note: "--ignore-tool"}},
		{"disabled mcp-remote", "windsurf", `{"command": "npx", "args": ["mcp-remote", "https://mcp.example.com/mcp"], "disabled": true}`,
			want{url: "https://mcp.example.com/mcp", transport: auto, disabled: true}},
		{"vscode http", "vscode", `{"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${env:GH_TOKEN}"}}`,
			want{url: "https://api.githubcopilot.com/mcp/", transport: sh, headers: map[string]string{"Authorization": "Bearer ${env:GH_TOKEN}"}}},
		{"vscode sse", "vscode", `{"type": "sse", "url": "https://mcp.example.com/sse"}`,
			want{url: "https://mcp.example.com/sse", transport: sse}},
		{"cursor url only", "cursor", `{"url": "https://mcp.linear.app/mcp"}`,
			want{url: "https://mcp.linear.app/mcp", transport: auto}},
		{"claude code http", "claude-code", `{"type": "http", "url": "https://mcp.sentry.dev/mcp", "headers": {"X-Key": "${SENTRY_KEY:-none}"}}`,
			want{url: "https://mcp.sentry.dev/mcp", transport: sh, headers: map[string]string{"X-Key": "${env:SENTRY_KEY}"}, note: "default"}},
		{"windsurf serverUrl", "windsurf", `{"serverUrl": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${env:GITHUB_PAT}"}}`,
			want{url: "https://api.githubcopilot.com/mcp/", transport: auto, headers: map[string]string{"Authorization": "Bearer ${env:GITHUB_PAT}"}}},
		{"gemini httpUrl with $VAR", "gemini-cli", `{"httpUrl": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer $GITHUB_PAT"}, "timeout": 5000}`,
			want{url: "https://api.githubcopilot.com/mcp/", transport: sh, headers: map[string]string{"Authorization": "Bearer ${env:GITHUB_PAT}"}}},
		{"gemini url is sse", "gemini-cli", `{"url": "http://localhost:8080/sse"}`,
			want{url: "http://localhost:8080/sse", transport: sse}},
		{"gemini oauth", "gemini-cli", `{"httpUrl": "https://x.example/mcp", "oauth": {"enabled": true, "clientId": "cid", "scopes": ["a"]}}`,
			want{url: "https://x.example/mcp", transport: sh, oauth: &config.OAuth{ClientID: "cid", Scopes: []string{"a"}}}},
		{"codex url and env headers", "codex", `{"url": "https://x.example/mcp", "bearer_token_env_var": "TOK", "http_headers": {"X-A": "1"}, "env_http_headers": {"X-B": "B_VAR"}, "enabled": false}`,
			want{url: "https://x.example/mcp", transport: sh, headers: map[string]string{"Authorization": "Bearer ${env:TOK}", "X-A": "1", "X-B": "${env:B_VAR}"}, disabled: true}},
		{"url with env ref", "cursor", `{"url": "https://mcp.example.com/mcp?key=${API_KEY}"}`,
			want{url: "https://mcp.example.com/mcp?key=${env:API_KEY}", transport: auto}},
		{"unknown fields noted", "cursor", `{"url": "https://x.example/mcp", "fancy": 1}`,
			want{url: "https://x.example/mcp", transport: auto, note: "ignored: fancy"}},

		// Skipped, each with a reason.
		{"stdio server", "cursor", `{"command": "npx", "args": ["@playwright/mcp@latest"]}`, want{skip: "local program"}},
		{"uvx", "claude-desktop", `{"command": "uvx", "args": ["mcp-server-git"]}`, want{skip: "remote servers only"}},
		{"vscode input", "vscode", `{"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${input:tok}"}}`, want{skip: "VS Code asks for"}},
		{"workspace var", "vscode", `{"type": "sse", "url": "https://x.example/${workspaceFolder}"}`, want{skip: "cannot fill in"}},
		{"no url or command", "cursor", `{"env": {}}`, want{skip: "neither a command nor a url"}},
		{"url not a string", "cursor", `{"url": 42}`, want{skip: "must be a string"}},
		{"two urls", "cursor", `{"url": "https://a", "serverUrl": "https://b"}`, want{skip: "different URLs"}},
		{"bad type", "vscode", `{"type": "websocket", "url": "wss://x"}`, want{skip: "not http, sse"}},
		{"headers not object", "cursor", `{"url": "https://x", "headers": ["a"]}`, want{skip: "object of strings"}},
		{"header not string", "cursor", `{"url": "https://x", "headers": {"a": 1}}`, want{skip: "must be a string"}},
		{"duplicate header", "codex", `{"url": "https://x", "http_headers": {"Authorization": "a"}, "bearer_token_env_var": "T"}`, want{skip: "twice"}},
		{"mcp-remote without url", "cursor", `{"command": "npx", "args": ["-y", "mcp-remote"]}`, want{skip: "without a server URL"}},
		{"mcp-remote bad url", "cursor", `{"command": "npx", "args": ["mcp-remote", "mcp.example.com"]}`, want{skip: "not an http(s) URL"}},
		{"mcp-remote bad port", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "abc"]}`, want{skip: "not a port"}},
		{"mcp-remote bad header", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "--header", "NoColonHere"]}`, want{skip: "not Name:Value"}},
		{"mcp-remote dangling flag", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "--header"]}`, want{skip: "has no value"}},
		{"mcp-remote header file", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "--header-file", "/h.txt"]}`, want{skip: "--header-file"}},
		{"mcp-remote bad transport", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "--transport", "ws"]}`, want{skip: "--transport"}},
		{"mcp-remote bad client info", "cursor", `{"command": "npx", "args": ["mcp-remote", "https://x", "--static-oauth-client-info", "{nope"]}`, want{skip: "not JSON"}},
		{"args not strings", "cursor", `{"command": "npx", "args": [1, 2]}`, want{skip: "list of strings"}},
		{"command not string", "cursor", `{"command": ["npx"]}`, want{skip: "non-empty string"}},
		{"not an object", "cursor", `"just a string"`, want{skip: "not an object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := decodeEntry(t, tc.entry)
			sc, notes, err := Convert(tc.client, fields)
			if tc.want.skip != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.skip) {
					t.Fatalf("err %v, want a skip with %q", err, tc.want.skip)
				}
				return
			}
			if err != nil {
				t.Fatalf("skipped: %v", err)
			}
			w := tc.want
			if sc.URL != w.url || sc.Transport != w.transport || sc.Disabled != w.disabled {
				t.Errorf("got %+v", sc)
			}
			if !reflect.DeepEqual(sc.Headers, w.headers) {
				t.Errorf("headers %v, want %v", sc.Headers, w.headers)
			}
			if !reflect.DeepEqual(sc.OAuth, w.oauth) {
				t.Errorf("oauth %+v, want %+v", sc.OAuth, w.oauth)
			}
			if w.note != "" && !strings.Contains(strings.Join(notes, "\n"), w.note) {
				t.Errorf("notes %q, want one with %q", notes, w.note)
			}
			if err := config.ValidateServer("test", "x", sc); err != nil {
				t.Errorf("converted server does not validate: %v", err)
			}
		})
	}
}

func TestPlanImport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cursor := Target{Client: "cursor", Path: write("cursor.json", `{
  // comments are fine
  "mcpServers": {
    "jira": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.atlassian.com/v1/sse"]},
    "My Linear": {"url": "https://mcp.linear.app/mcp"},
    "fs": {"command": "npx", "args": ["@modelcontextprotocol/server-filesystem", "/"]},
    "github": {"command": "/opt/mcptray/mcptray-bridge", "args": ["github"]},
    "same": {"url": "https://same.example/mcp"},
    "clash": {"url": "https://clash.example/new"},
    "bad": {"url": "ftp://nope"},
    "weird": 17,
  },
}`), ServersKey: []string{"mcpServers"}}
	codex := Target{Client: "codex", Format: TOML, Path: write("config.toml", `
[mcp_servers.jira]
url = "https://mcp.atlassian.com/v1/sse"
[mcp_servers.figma]
url = "http://127.0.0.1:3845/mcp"
`), ServersKey: []string{"mcp_servers"}}
	broken := Target{Client: "windsurf", Path: write("broken.json", `{"mcpServers": {"a": }`), ServersKey: []string{"mcpServers"}}
	missing := Target{Client: "gemini-cli", Path: filepath.Join(dir, "nope.json"), ServersKey: []string{"mcpServers"}}
	existing := map[string]config.Server{
		"same":  {URL: "https://same.example/mcp", Transport: config.TransportAuto},
		"clash": {URL: "https://clash.example/old", Transport: config.TransportAuto},
	}
	validate := func(name string, sc config.Server) error {
		return config.ValidateServer("config.json", name, sc)
	}
	items := PlanImport([]Target{cursor, codex, broken, missing}, existing, validate, nil)

	got := map[string]string{}
	for _, it := range items {
		got[it.Source.Client+"/"+it.Key] = it.Status + ": " + it.Name + ": " + it.Reason
		if it.Status == ImportSkipped && it.Reason == "" {
			t.Errorf("%s/%s skipped without a reason", it.Source.Client, it.Key)
		}
	}
	want := map[string]string{
		"cursor/jira":      "new: jira: ",
		"cursor/My Linear": "new: My-Linear: ",
		"cursor/fs":        "skipped: : runs a local program",
		"cursor/github":    "bridge: github: already launches mcptray-bridge github",
		"cursor/same":      "present: same: ",
		"cursor/clash":     "skipped: clash: mcptray already has a different server",
		"cursor/bad":       "skipped: bad: config config.json: server \"bad\": field \"url\": must start with https://",
		"cursor/weird":     "skipped: : the entry is not an object",
		"codex/jira":       "skipped: jira: mcptray already has a different server", // cursor's jira is auto, codex's streamable
		"codex/figma":      "new: figma: ",
		"windsurf/":        "skipped: : cannot read it",
	}
	for k, w := range want {
		if !strings.HasPrefix(got[k], w) {
			t.Errorf("%s: %q, want prefix %q", k, got[k], w)
		}
	}
	if len(items) != len(want) {
		t.Errorf("%d items, want %d: %v", len(items), len(want), got)
	}
}
