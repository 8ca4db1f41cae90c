package app

import (
	"encoding/json"
	"fmt"
)

// BridgeSnippet is the entry an IDE's MCP config needs to reach server
// name through mcptray, as a member to paste inside "mcpServers" (Claude
// Desktop, Cursor, Windsurf) or "servers" (VS Code):
//
//	"jira": {
//	  "command": "/usr/local/bin/mcptray-bridge",
//	  "args": ["jira"]
//	}
func BridgeSnippet(command, name string) string {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return fmt.Sprintf("%s: {\n  \"command\": %s,\n  \"args\": [%s]\n}", q(name), q(command), q(name))
}

// HTTPSnippet is the entry an IDE that reaches servers by URL needs for
// server name through mcptray's loopback HTTP endpoint (Cursor's and
// Claude Code's spelling; `mcptray install NAME --client C --http` writes
// each client's own):
//
//	"jira": {
//	  "url": "http://127.0.0.1:24817/mcp/jira",
//	  "headers": {"Authorization": "Bearer mcptray_…"}
//	}
func HTTPSnippet(name, url, token string) string {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return fmt.Sprintf("%s: {\n  \"url\": %s,\n  \"headers\": {\"Authorization\": %s}\n}", q(name), q(url), q("Bearer "+token))
}
