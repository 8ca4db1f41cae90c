package app

import (
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient"
)

// TestDetailsShowEra: a connected server's row names its protocol
// version and era.
func TestDetailsShowEra(t *testing.T) {
	for _, tc := range []struct {
		st   mcpclient.ServerStatus
		want string
	}{
		{mcpclient.ServerStatus{State: mcpclient.StateConnected, Transport: "streamable-http", ProtocolVersion: "2026-07-28", Era: "modern"}, "MCP 2026-07-28 (modern)"},
		{mcpclient.ServerStatus{State: mcpclient.StateConnected, Transport: "sse", ProtocolVersion: "2025-11-25", Era: "legacy"}, "MCP 2025-11-25 (legacy)"},
	} {
		if got := Details(tc.st); !strings.Contains(got, tc.want) {
			t.Errorf("Details = %q, want it to contain %q", got, tc.want)
		}
	}
	if got := Details(mcpclient.ServerStatus{State: mcpclient.StateBackoff, ProtocolVersion: "2026-07-28", Era: "modern"}); strings.Contains(got, "MCP") {
		t.Errorf("a server that is not connected shows an era: %q", got)
	}
}

func TestHTTPDetails(t *testing.T) {
	if got := Details(mcpclient.ServerStatus{State: mcpclient.StateConnected, Bridges: 1, HTTPClients: 2}); !strings.Contains(got, "3 IDEs attached (2 over HTTP)") {
		t.Errorf("Details = %q", got)
	}
	if got := HTTPLine(mcpclient.HTTPStatus{Enabled: true, URL: "http://127.0.0.1:24817/mcp", Sessions: 1}); got != "HTTP endpoint: http://127.0.0.1:24817/mcp/NAME · 1 IDE over HTTP" {
		t.Errorf("HTTPLine = %q", got)
	}
	if got := HTTPLine(mcpclient.HTTPStatus{Enabled: true, Error: "port 24817 on 127.0.0.1 is already in use"}); !strings.Contains(got, "already in use") {
		t.Errorf("HTTPLine = %q", got)
	}
	if got := HTTPSnippet("jira", "http://127.0.0.1:24817/mcp/jira", "mcptray_x"); !strings.Contains(got, `"Authorization": "Bearer mcptray_x"`) || !strings.HasPrefix(got, `"jira": {`) {
		t.Errorf("HTTPSnippet = %q", got)
	}
}
