package mcpclient_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/modernpeer"
)

// TestHTTPEndpointModernEndToEnd: a 2026-07-28 IDE over the hub's HTTP
// endpoint, against a legacy server (the hub translates: discover, listen
// from the legacy session, input_required from the server's elicitation
// request, which the hub parks) and a modern-only one. The IDE is the
// official Go SDK's client (server/discover at connect, tools/call, the
// MRTR retry loop); the listen stream and discover-while-down are raw
// HTTP, to see the subscription id and the stream's end.
func TestHTTPEndpointModernEndToEnd(t *testing.T) {
	for _, era := range []string{fs.EraLegacy, fs.EraModern} {
		t.Run(era, func(t *testing.T) {
			srv := startFault(t, fs.Options{Era: era})
			hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
			hh.waitState("up", "connected", 20*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			c := modernpeer.ConnectHTTP(t, hh.url("up"), modernpeer.ClientOptions{
				ElicitContent: map[string]any{"answer": "42"},
				HTTPHeaders:   map[string]string{"Authorization": "Bearer " + hh.token},
			})
			if v := c.ProtocolVersion(); v != modernpeer.ModernVersion {
				t.Fatalf("the SDK client runs %q with the endpoint, want %s (server/discover)", v, modernpeer.ModernVersion)
			}
			if got, err := c.CallToolText(ctx, "echo", map[string]any{"text": "hi over http"}); err != nil || got != "hi over http" {
				t.Errorf("tools/call echo: %q %v", got, err)
			}

			// One MRTR round trip: input_required, the retry with
			// inputResponses, one result.
			got, err := c.CallToolText(ctx, "elicit", map[string]any{"message": "Number?"})
			if err != nil || !strings.HasPrefix(got, "accept") || !strings.Contains(got, `"answer":"42"`) {
				t.Errorf("elicit: %q %v", got, err)
			}
			if el := c.Elicitations(); len(el) != 1 || el[0].Via != "input_required" || el[0].Message != "Number?" {
				t.Errorf("elicitations %+v, want one via input_required", el)
			}

			// The SDK's own streams (its listen for list changes) end
			// with it.
			_ = c.Close()
			waitFor(t, "the SDK client's downstreams to end", func() bool { return hh.hub.HTTPStatus().Sessions == 0 })

			// subscriptions/listen: acknowledged, then a list change
			// tagged with the listen's id; closing the stream ends it.
			ls := openListen(t, hh, "up", "listen-7")
			ack := ls.next(t, 10*time.Second)
			if ack["method"] != "notifications/subscriptions/acknowledged" || subscriptionID(ack) != "listen-7" {
				t.Fatalf("listen: first message %v, want the acknowledgement for listen-7", ack)
			}
			srv.AddTools("added")
			lc := ls.next(t, 10*time.Second)
			if lc["method"] != "notifications/tools/list_changed" || subscriptionID(lc) != "listen-7" {
				t.Fatalf("listen: %v, want notifications/tools/list_changed tagged listen-7", lc)
			}
			if hh.hub.HTTPStatus().Sessions == 0 {
				t.Error("status counts no HTTP IDE while a listen stream is open")
			}
			ls.close()
			waitFor(t, "the listen's downstream to end", func() bool { return hh.hub.HTTPStatus().Sessions == 0 })

			// server/discover is the hub's answer, also with the server
			// gone.
			srv.Close()
			hh.waitStateNot("up", "connected", 20*time.Second)
			r := hh.raw(t, "up")
			resp, msgs := r.post(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "server/discover", "params": map[string]any{
				"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": modernpeer.ModernVersion, "io.modelcontextprotocol/clientCapabilities": map[string]any{}},
			}}, map[string]string{"MCP-Protocol-Version": modernpeer.ModernVersion, "Mcp-Method": "server/discover"})
			if resp.StatusCode != 200 || len(msgs) != 1 {
				t.Fatalf("server/discover with the server down: %d %v", resp.StatusCode, msgs)
			}
			res, _ := msgs[0]["result"].(map[string]any)
			vs, _ := res["supportedVersions"].([]any)
			if res["resultType"] != "complete" || len(vs) == 0 || res["capabilities"] == nil {
				t.Errorf("server/discover with the server down: %v", msgs[0])
			}
		})
	}
}

// listenStream is a raw subscriptions/listen request's open SSE stream.
type listenStream struct {
	cancel context.CancelFunc
	msgs   chan map[string]any
}

func openListen(t *testing.T, hh *httpHub, name, id string) *listenStream {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen", "params": map[string]any{
		"notifications": map[string]any{"toolsListChanged": true},
		"_meta":         map[string]any{"io.modelcontextprotocol/protocolVersion": modernpeer.ModernVersion, "io.modelcontextprotocol/clientCapabilities": map[string]any{}},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hh.url(name), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+hh.token)
	req.Header.Set("MCP-Protocol-Version", modernpeer.ModernVersion)
	req.Header.Set("Mcp-Method", "subscriptions/listen")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("subscriptions/listen: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("subscriptions/listen: %d %s, want an SSE stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ls := &listenStream{cancel: cancel, msgs: make(chan map[string]any, 16)}
	go func() {
		defer resp.Body.Close()
		defer close(ls.msgs)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				if json.Unmarshal([]byte(d), &m) == nil {
					ls.msgs <- m
				}
			}
		}
	}()
	return ls
}

func (ls *listenStream) next(t *testing.T, within time.Duration) map[string]any {
	t.Helper()
	select {
	case m, ok := <-ls.msgs:
		if !ok {
			t.Fatal("the listen stream ended")
		}
		return m
	case <-time.After(within):
		t.Fatalf("nothing on the listen stream within %s", within)
	}
	return nil
}

func (ls *listenStream) close() { ls.cancel() }

// subscriptionID is a notification's _meta subscription id.
func subscriptionID(m map[string]any) any {
	p, _ := m["params"].(map[string]any)
	meta, _ := p["_meta"].(map[string]any)
	return meta["io.modelcontextprotocol/subscriptionId"]
}
