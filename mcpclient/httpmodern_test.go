package mcpclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
)

// TestHTTPEndpointModern: a 2026-07-28 request needs no session; its
// mirrored headers must match its body (400, -32020); GET and DELETE are
// 405 for it; its answer comes on its own stream, and closing that stream
// cancels the request upstream. What the hub answers (server/discover,
// MRTR, listen) is the downstream's; this checks the transport.
func TestHTTPEndpointModern(t *testing.T) {
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
	c := hh.raw(t, "up")
	meta := map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}, "io.modelcontextprotocol/clientInfo": map[string]any{"name": "modern-test", "version": "1"}}
	call := func(id int, hdr map[string]string) (*http.Response, []map[string]any) {
		return c.post(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{
			"name": "echo", "arguments": map[string]any{"text": "modern"}, "_meta": meta,
		}}, hdr)
	}
	good := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
	resp, msgs := call(1, good)
	if resp.StatusCode != 200 || len(msgs) == 0 || msgs[len(msgs)-1]["id"] != float64(1) || !strings.Contains(resultText(msgs[len(msgs)-1]), "modern") {
		t.Fatalf("a modern tools/call: %d %v", resp.StatusCode, msgs)
	}
	if resp.Header.Get("Mcp-Session-Id") != "" {
		t.Error("a modern answer carries a session id")
	}
	for name, hdr := range map[string]map[string]string{
		"name differs":    {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "other"},
		"method missing":  {"MCP-Protocol-Version": "2026-07-28", "Mcp-Name": "echo"},
		"version differs": {"MCP-Protocol-Version": "2025-11-25", "Mcp-Method": "tools/call", "Mcp-Name": "echo"},
		"version missing": {"Mcp-Method": "tools/call", "Mcp-Name": "echo"},
	} {
		resp, msgs := call(2, hdr)
		e, _ := func() (map[string]any, bool) {
			if len(msgs) == 1 {
				e, ok := msgs[0]["error"].(map[string]any)
				return e, ok
			}
			return nil, false
		}()
		if resp.StatusCode != http.StatusBadRequest || e["code"] != float64(-32020) {
			t.Errorf("%s: %d %v, want 400 with -32020", name, resp.StatusCode, msgs)
		}
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, c.url, nil)
		req.Header.Set("Authorization", "Bearer "+hh.token)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", method, r.StatusCode)
		}
	}

	// Closing the stream cancels the request upstream.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{"ms":20000},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+hh.token)
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "slow")
		if r, err := http.DefaultClient.Do(req); err == nil {
			r.Body.Close()
		}
	}()
	waitFor(t, "the slow call to reach the server", func() bool { return srv.Stats().Requests["tools/call"] >= 2 })
	before := srv.Cancelled()
	cancel()
	<-done
	waitFor(t, "the server to hear of the cancel", func() bool { return srv.Cancelled() > before })
	waitFor(t, "the request's downstream to end", func() bool { return hh.hub.HTTPStatus().Sessions == 0 })
	_ = time.Second
}
