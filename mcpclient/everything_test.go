package mcpclient_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// TestEverything runs the real server-everything over Streamable HTTP and
// legacy SSE and drives it through the real bridge binary, as an IDE would.
func TestEverything(t *testing.T) {
	for _, tc := range []struct {
		name, transport, cfgTransport, want string
	}{
		{"streamable-auto", testenv.TransportStreamable, "auto", config.TransportStreamable},
		{"streamable", testenv.TransportStreamable, "streamable-http", config.TransportStreamable},
		{"sse-auto-fallback", testenv.TransportSSE, "auto", config.TransportSSE},
		{"sse", testenv.TransportSSE, "sse", config.TransportSSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := testenv.StartEverything(t, tc.transport, 0)
			f := startHub(t, map[string]string{"ev": `{"url": "` + ev.URL() + `", "transport": "` + tc.cfgTransport + `"}`})
			c := launchBridge(t, f.env(), "ev", "--no-start")
			var sampled atomic.Int32
			c.onServer = func(m *rpcResp) any {
				switch m.Method {
				case "sampling/createMessage":
					sampled.Add(1)
					return map[string]any{"role": "assistant", "model": "test-model", "stopReason": "endTurn",
						"content": map[string]any{"type": "text", "text": "sampled by the IDE"}}
				case "roots/list":
					return map[string]any{"roots": []any{map[string]any{"uri": "file:///work/project", "name": "project"}}}
				case "elicitation/create":
					return map[string]any{"action": "decline"}
				}
				return map[string]any{}
			}
			init := c.initialize(map[string]any{"sampling": map[string]any{}, "roots": map[string]any{"listChanged": true}, "elicitation": map[string]any{}})
			var ir struct {
				ProtocolVersion string `json:"protocolVersion"`
				ServerInfo      struct{ Name string }
				Capabilities    map[string]map[string]any
			}
			if err := json.Unmarshal(init, &ir); err != nil {
				t.Fatal(err)
			}
			if ir.ProtocolVersion != "2025-06-18" {
				t.Errorf("negotiated %q, want the IDE's 2025-06-18", ir.ProtocolVersion)
			}
			if ir.Capabilities["tools"]["listChanged"] != true {
				t.Errorf("tools.listChanged not promised: %v", ir.Capabilities)
			}
			if !strings.Contains(ir.ServerInfo.Name, "everything") {
				t.Errorf("serverInfo not mirrored: %q", ir.ServerInfo.Name)
			}

			tools := c.ok("tools/list", nil)
			if !strings.Contains(string(tools), `"name":"echo"`) {
				t.Fatalf("tools/list lacks echo: %.300s", tools)
			}
			if got := c.toolText(c.ok("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hello"}})); got != "Echo: hello" {
				t.Errorf("echo = %q", got)
			}

			var rl struct {
				Resources []struct{ URI string }
			}
			_ = json.Unmarshal(c.ok("resources/list", nil), &rl)
			if len(rl.Resources) == 0 {
				t.Fatal("no resources")
			}
			rr := c.ok("resources/read", map[string]any{"uri": rl.Resources[0].URI})
			if !strings.Contains(string(rr), rl.Resources[0].URI) {
				t.Errorf("resources/read: %.200s", rr)
			}
			var pl struct {
				Prompts []struct {
					Name      string
					Arguments []struct {
						Name     string
						Required bool
					}
				}
			}
			_ = json.Unmarshal(c.ok("prompts/list", nil), &pl)
			got := false
			for _, p := range pl.Prompts {
				if len(p.Arguments) == 0 {
					pg := c.ok("prompts/get", map[string]any{"name": p.Name})
					if !strings.Contains(string(pg), "messages") {
						t.Errorf("prompts/get: %.200s", pg)
					}
					got = true
					break
				}
			}
			if !got {
				t.Fatalf("no argument-less prompt in %+v", pl)
			}

			// Progress notifications come back with the IDE's own token.
			res := c.ok("tools/call", map[string]any{"name": "trigger-long-running-operation",
				"arguments": map[string]any{"duration": 1, "steps": 3},
				"_meta":     map[string]any{"progressToken": "ide-token-7"}})
			if !strings.Contains(c.toolText(res), "completed") {
				t.Errorf("long-running result: %s", res)
			}
			n := c.waitNote("notifications/progress", nil, 5*time.Second)
			if !strings.Contains(string(n.Params), `"progressToken":"ide-token-7"`) {
				t.Errorf("progress token not mapped back: %s", n.Params)
			}

			// Server→client requests reach the IDE and the answers go back.
			if tc.transport == testenv.TransportStreamable {
				sr := c.ok("tools/call", map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "hi", "maxTokens": 5}})
				if !strings.Contains(string(sr), "sampled by the IDE") || sampled.Load() != 1 {
					t.Errorf("sampling round trip: %s", sr)
				}
				roots := c.ok("tools/call", map[string]any{"name": "get-roots-list", "arguments": map[string]any{}})
				if !strings.Contains(string(roots), "file:///work/project") {
					t.Errorf("roots round trip: %s", roots)
				}
			} else {
				sr := c.ok("tools/call", map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "hi", "maxTokens": 5}})
				if !strings.Contains(string(sr), "sampled by the IDE") {
					t.Errorf("sampling round trip over SSE: %s", sr)
				}
			}

			st := f.status("ev")
			if st.Transport != tc.want || st.Bridges != 1 || st.Tools == 0 || st.SessionsOpened != 1 {
				t.Errorf("status = %+v", st)
			}
		})
	}
}

// TestEverythingRestart kills the real server-everything mid-session and
// starts it again on the same port: it then rejects the old session (400),
// and the same bridge's next call must still succeed.
func TestEverythingRestart(t *testing.T) {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	f := startHub(t, map[string]string{"ev": urlEntry(ev.URL())})
	c := launchBridge(t, f.env(), "ev", "--no-start")
	c.initialize(nil)
	c.ok("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "before"}})
	ev.Kill()
	ev.Restart()
	for i := 0; i < 3; i++ {
		got := c.toolText(c.ok("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "after"}}))
		if got != "Echo: after" {
			t.Fatalf("after restart: %q", got)
		}
	}
	if st := f.status("ev"); st.SessionsOpened < 2 || st.State != mcpclient.StateConnected {
		t.Errorf("status after restart: %+v", st)
	}
}

// TestSubscriptionSurvivesRestart: a resource subscription made by the IDE
// is replayed on the session rebuilt after server-everything restarts, so
// resources/updated keeps flowing without the IDE doing anything.
func TestSubscriptionSurvivesRestart(t *testing.T) {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	f := startHub(t, map[string]string{"ev": urlEntry(ev.URL())})
	c := launchBridge(t, f.env(), "ev", "--no-start")
	c.initialize(nil)
	var rl struct {
		Resources []struct{ URI string }
	}
	_ = json.Unmarshal(c.ok("resources/list", nil), &rl)
	uri := rl.Resources[0].URI
	c.ok("resources/subscribe", map[string]any{"uri": uri})
	ev.Kill()
	ev.Restart()
	// The next call meets the dead session, rebuilds, and turns on the
	// server's simulated updates on the new session.
	c.ok("tools/call", map[string]any{"name": "toggle-subscriber-updates", "arguments": map[string]any{}})
	n := c.waitNote("notifications/resources/updated", nil, 15*time.Second)
	if !strings.Contains(string(n.Params), uri) {
		t.Errorf("update for another resource: %s", n.Params)
	}
}
