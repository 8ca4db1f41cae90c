package modernpeer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var answer = map[string]any{"answer": "42"}

// exercise runs every helper against srv and checks the results.
func exercise(t *testing.T, c *Client, srv *SDKServer, wantVia string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tools, err := c.ListTools(ctx)
	if err != nil || !slices.Equal(tools, []string{"echo", "elicit", "progress"}) {
		t.Fatalf("tools/list: %v %v", tools, err)
	}
	if got, err := c.CallToolText(ctx, "echo", map[string]any{"text": "hi"}); err != nil || got != "hi" {
		t.Fatalf("echo: %q %v", got, err)
	}
	if got, err := c.CallToolText(ctx, "elicit", map[string]any{"message": "Number?"}); err != nil || got != `accept {"answer":"42"}` {
		t.Fatalf("elicit: %q %v", got, err)
	}
	if el := c.Elicitations(); len(el) != 1 || el[0].Via != wantVia || el[0].Message != "Number?" {
		t.Fatalf("elicitations %+v, want one via %s", el, wantVia)
	}
	res, err := c.CallTool(ctx, "progress", map[string]any{"count": 3, "ms": 1}, map[string]any{"progressToken": "p1"})
	if err != nil || ResultText(res) != "sent 3 progress notifications" {
		t.Fatalf("progress: %v %v", res, err)
	}
	if err := c.WaitNotified(ctx, "notifications/progress", 3); err != nil {
		t.Fatal(err)
	}
	if p := c.Progress(); p[2].Progress != 3 || p[2].ProgressToken != "p1" {
		t.Fatalf("progress %+v", p[2])
	}
	if got, err := c.ReadResource(ctx, "test://static"); err != nil || got != "static resource content" {
		t.Fatalf("resources/read: %q %v", got, err)
	}
	if got, err := c.GetPrompt(ctx, "greet", map[string]string{"name": "Ann"}); err != nil || got != "Hello, Ann!" {
		t.Fatalf("prompts/get: %q %v", got, err)
	}
	if err := c.Subscribe(ctx, "test://static"); err != nil {
		t.Fatal(err)
	}
	// A modern Subscribe opens its listen stream in the background: retry
	// the update until it lands.
	for c.Notified("notifications/resources/updated") == 0 {
		if err := srv.ResourceUpdated(ctx, "test://static"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("no resources/updated")
		case <-time.After(20 * time.Millisecond):
		}
	}
	srv.AddTool("added")
	if err := c.WaitNotified(ctx, "notifications/tools/list_changed", 1); err != nil {
		t.Fatal(err)
	}
	if got, err := c.CallToolText(ctx, "added", nil); err != nil || got != "added" {
		t.Fatalf("added: %q %v", got, err)
	}
}

func TestModernClientModernServer(t *testing.T) {
	srv := StartSDKServer(t, EraModern)
	c := ConnectHTTP(t, srv.URL, ClientOptions{ElicitContent: answer})
	if v := c.ProtocolVersion(); v != ModernVersion {
		t.Fatalf("protocol %q", v)
	}
	exercise(t, c, srv, "input_required")
}

func TestModernClientDualServer(t *testing.T) {
	srv := StartSDKServer(t, EraDual)
	c := ConnectHTTP(t, srv.URL, ClientOptions{ElicitContent: answer})
	if v := c.ProtocolVersion(); v != ModernVersion {
		t.Fatalf("protocol %q", v)
	}
	exercise(t, c, srv, "input_required")
}

func TestLegacyClientDualServer(t *testing.T) {
	srv := StartSDKServer(t, EraDual)
	c := ConnectHTTP(t, srv.URL, ClientOptions{Legacy: true, ElicitContent: answer})
	if v := c.ProtocolVersion(); v != LegacyVersion {
		t.Fatalf("protocol %q", v)
	}
	exercise(t, c, srv, "elicitation/create")
}

// TestModernClientLegacyServer: the SDK's probe gets -32022 listing only
// legacy versions and falls back to initialize.
func TestModernClientLegacyServer(t *testing.T) {
	srv := StartSDKServer(t, EraLegacy)
	c := ConnectHTTP(t, srv.URL, ClientOptions{ElicitContent: answer})
	if v := c.ProtocolVersion(); v != LegacyVersion {
		t.Fatalf("protocol %q", v)
	}
	exercise(t, c, srv, "elicitation/create")
}

// TestSDKServerWire records what the SDK server answers on the wire in the
// cases the hub's era detection cares about.
func TestSDKServerWire(t *testing.T) {
	post := func(url, body string, h map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	discover := `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{` +
		`"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}`
	modernH := map[string]string{"Mcp-Protocol-Version": ModernVersion, "Mcp-Method": "server/discover"}
	initialize := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

	modern := StartSDKServer(t, EraModern)
	status, body := post(modern.URL, discover, modernH)
	if status != 200 || !strings.Contains(body, `"supportedVersions":["2026-07-28"]`) {
		t.Fatalf("modern server/discover: %d %s", status, body)
	}
	// By the SDK's design a modern-restricted server still answers
	// initialize, with 2025-11-25.
	status, body = post(modern.URL, initialize, nil)
	if status != 200 || !strings.Contains(body, `"protocolVersion":"2025-11-25"`) {
		t.Fatalf("modern initialize: %d %s", status, body)
	}

	legacy := StartSDKServer(t, EraLegacy)
	status, body = post(legacy.URL, discover, modernH)
	var e struct {
		Error struct {
			Code int `json:"code"`
			Data struct {
				Supported []string `json:"supported"`
			} `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != 400 || e.Error.Code != -32022 ||
		slices.Contains(e.Error.Data.Supported, ModernVersion) || len(e.Error.Data.Supported) == 0 {
		t.Fatalf("legacy server/discover: %d %s", status, body)
	}
}

// The test binary doubles as a stdio MCP server (the SDK server on
// StdioTransport) when MODERNPEER_STDIO_SERVER is set, so that the stdio
// client helper can be tested without mcptray.
func TestMain(m *testing.M) {
	if os.Getenv("MODERNPEER_STDIO_SERVER") != "" {
		srv := newSDKServer(EraDual)
		if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, "stdio server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStdioClient(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MODERNPEER_STDIO_SERVER=1")
			c := StartStdioClient(t, cmd, ClientOptions{Legacy: legacy, ElicitContent: answer})
			want, via := ModernVersion, "input_required"
			if legacy {
				want, via = LegacyVersion, "elicitation/create"
			}
			if v := c.ProtocolVersion(); v != want {
				t.Fatalf("protocol %q", v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if got, err := c.CallToolText(ctx, "elicit", map[string]any{"message": "Q"}); err != nil || got != `accept {"answer":"42"}` {
				t.Fatalf("elicit: %q %v", got, err)
			}
			if el := c.Elicitations(); len(el) != 1 || el[0].Via != via {
				t.Fatalf("elicitations %+v", el)
			}
			if got, err := c.GetPrompt(ctx, "greet", map[string]string{"name": "Bo"}); err != nil || got != "Hello, Bo!" {
				t.Fatalf("prompts/get: %q %v", got, err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
}
