package mcpclient_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/modernpeer"
)

// The official Go SDK (go-sdk v1.8.0) as an independent IDE: its stdio
// client launches the real mcptray-bridge, as an IDE would, and speaks
// 2026-07-28 to it (server/discover, per-request _meta, input_required
// retries); with Legacy it speaks 2025-11-25 instead. Behind the hub: a
// go-sdk modern server, and a legacy fault server (mcp-go).

type sdkUpstream struct {
	url         string
	addTool     func(name string)
	wantVersion string // what the hub speaks to it
}

func TestGoSDKClientThroughBridge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  func(t *testing.T) sdkUpstream
		legacy bool // the SDK client speaks 2025-11-25
	}{
		{"sdk-modern-server", startSDKModern, false},
		{"faultserver-legacy", startFaultLegacy, false},
		{"legacy-client/sdk-modern-server", startSDKModern, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := tc.start(t)
			f := startHub(t, map[string]string{"s": urlEntry(up.url)})
			if st := f.waitState("s", "connected", 20*time.Second); st.ProtocolVersion != up.wantVersion {
				t.Errorf("the hub speaks %q upstream, want %q", st.ProtocolVersion, up.wantVersion)
			}
			cmd := exec.Command(filepath.Join(bins(t), "mcptray-bridge"), "--no-start", "--eof-grace", "200ms", "s")
			cmd.Env = f.env()
			c := modernpeer.StartStdioClient(t, cmd, modernpeer.ClientOptions{Legacy: tc.legacy, ElicitContent: map[string]any{"answer": "42"}})
			wantVersion, wantVia := modernpeer.ModernVersion, "input_required"
			if tc.legacy {
				wantVersion, wantVia = modernpeer.LegacyVersion, "elicitation/create"
			}
			if v := c.ProtocolVersion(); v != wantVersion {
				t.Errorf("the SDK client runs %q with the bridge, want %q", v, wantVersion)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tools, err := c.ListTools(ctx)
			if err != nil || !slices.Contains(tools, "echo") || !slices.Contains(tools, "elicit") {
				t.Fatalf("tools/list: %v %v", tools, err)
			}
			if got, err := c.CallToolText(ctx, "echo", map[string]any{"text": "hi sdk"}); err != nil || got != "hi sdk" {
				t.Errorf("echo: %q %v", got, err)
			}
			if got, err := c.ReadResource(ctx, "test://static"); err != nil || got != "static resource content" {
				t.Errorf("resources/read: %q %v", got, err)
			}
			if got, err := c.GetPrompt(ctx, "greet", map[string]string{"name": "Ann"}); err != nil || got != "Hello, Ann!" {
				t.Errorf("prompts/get: %q %v", got, err)
			}
			got, err := c.CallToolText(ctx, "elicit", map[string]any{"message": "Number?"})
			if err != nil || !strings.HasPrefix(got, "accept") || !strings.Contains(got, `"answer":"42"`) {
				t.Errorf("elicit: %q %v", got, err)
			}
			if el := c.Elicitations(); len(el) != 1 || el[0].Via != wantVia || el[0].Message != "Number?" {
				t.Errorf("elicitations %+v, want one via %s", el, wantVia)
			}
			res, err := c.CallTool(ctx, "progress", map[string]any{"count": 3, "ms": 1}, map[string]any{"progressToken": "p1"})
			if err != nil || !strings.HasPrefix(modernpeer.ResultText(res), "sent 3") {
				t.Errorf("progress: %v %v", res, err)
			} else if err := c.WaitNotified(ctx, "notifications/progress", 3); err != nil {
				t.Error(err)
			}
			up.addTool("added_by_test")
			if err := c.WaitNotified(ctx, "notifications/tools/list_changed", 1); err != nil {
				t.Errorf("list change: %v", err)
			}
			if got, err := c.CallToolText(ctx, "added_by_test", nil); err != nil || got != "added_by_test" {
				t.Errorf("added tool: %q %v", got, err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

func startSDKModern(t *testing.T) sdkUpstream {
	srv := modernpeer.StartSDKServer(t, modernpeer.EraModern)
	return sdkUpstream{url: srv.URL, addTool: srv.AddTool, wantVersion: modernpeer.ModernVersion}
}

func startFaultLegacy(t *testing.T) sdkUpstream {
	srv := startFault(t, fs.Options{Era: fs.EraLegacy})
	return sdkUpstream{url: srv.URL(), addTool: func(name string) { srv.AddTools(name) }, wantVersion: "2025-11-25"}
}
