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
