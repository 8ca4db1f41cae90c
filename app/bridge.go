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
