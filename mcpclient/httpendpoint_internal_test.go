package mcpclient

import (
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestListenLoopbackOnly: a bind to anything but a loopback IP is refused
// before any socket is opened.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "192.168.1.10:0", "10.0.0.1:0", "example.com:0", "localhost:0"} {
		ln, err := listenLoopback(addr)
		if err == nil {
			ln.Close()
			t.Errorf("%s: listened", addr)
			continue
		}
		if !errors.Is(err, errNotLoopback) {
			t.Errorf("%s: %v, want errNotLoopback", addr, err)
		}
	}
	ln, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("bound %s", ip)
	}
}

func TestModernHeaders(t *testing.T) {
	body := func(method, params string) *jsonrpc.Message {
		m, err := jsonrpc.Parse([]byte(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	for _, tc := range []struct {
		name   string
		m      *jsonrpc.Message
		hdr    map[string]string
		code   int
		status int
	}{
		{name: "ok list", m: body("tools/list", `{`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}},
		{name: "ok call", m: body("tools/call", `{"name":"echo",`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}},
		{name: "ok base64 name", m: body("resources/read", `{"uri":"file:///ü",`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "resources/read", "Mcp-Name": "=?base64?ZmlsZTovLy/DvA==?="}},
		{name: "version header missing", m: body("tools/list", `{`+meta+`}`), hdr: map[string]string{"Mcp-Method": "tools/list"}, code: codeHeaderMismatch, status: 400},
		{name: "version differs", m: body("tools/list", `{`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2025-11-25", "Mcp-Method": "tools/list"}, code: codeHeaderMismatch, status: 400},
		{name: "method missing", m: body("tools/list", `{`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28"}, code: codeHeaderMismatch, status: 400},
		{name: "method differs", m: body("tools/list", `{`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}, code: codeHeaderMismatch, status: 400},
		{name: "name missing", m: body("tools/call", `{"name":"echo",`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}, code: codeHeaderMismatch, status: 400},
		{name: "name differs", m: body("prompts/get", `{"name":"a",`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "prompts/get", "Mcp-Name": "b"}, code: codeHeaderMismatch, status: 400},
		{name: "bad base64", m: body("tools/call", `{"name":"echo",`+meta+`}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "=?base64?!!?="}, code: codeHeaderMismatch, status: 400},
		{name: "unsupported version", m: body("tools/list", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01"}}`), hdr: map[string]string{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}, code: codeUnsupportedProtocolVersion, status: 400},
		{name: "unknown version", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999.0.0","io.modelcontextprotocol/clientCapabilities":{}}}`), hdr: map[string]string{"MCP-Protocol-Version": "v999.0.0", "Mcp-Method": "server/discover"}, code: codeUnsupportedProtocolVersion, status: 400},
		{name: "header version, body unknown", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999.0.0","io.modelcontextprotocol/clientCapabilities":{}}}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}, code: codeHeaderMismatch, status: 400},
		{name: "no _meta", m: body("server/discover", `{}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}, code: jsonrpc.CodeInvalidParams, status: 400},
		{name: "no version in _meta", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{}}}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}, code: jsonrpc.CodeInvalidParams, status: 400},
		{name: "no client capabilities", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}, code: jsonrpc.CodeInvalidParams, status: 400},
		{name: "client capabilities not an object", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[]}}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}, code: jsonrpc.CodeInvalidParams, status: 400},
		{name: "no client info is fine", m: body("server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}`), hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			status, code, msg := checkModernHeaders(tc.m, h)
			if status != tc.status || code != tc.code {
				t.Errorf("got %d %d %q, want %d %d", status, code, msg, tc.status, tc.code)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json, text/event-stream":       true,
		"text/event-stream;q=0.9, application/json": true,
		"*/*":              true,
		"application/json": false,
		"":                 false,
	} {
		if got := acceptsBoth(accept); got != want {
			t.Errorf("acceptsBoth(%q) = %v", accept, got)
		}
	}
}

// TestConnTrackerEvicts: past the bound, connections that never sent a
// request go first, then idle ones; busy ones never.
func TestConnTrackerEvicts(t *testing.T) {
	tr := newConnTracker(2)
	pipe := func() net.Conn { a, b := net.Pipe(); t.Cleanup(func() { a.Close(); b.Close() }); return a }
	busy, idle, fresh := pipe(), pipe(), pipe()
	tr.track(busy, http.StateNew)
	tr.track(busy, http.StateActive)
	tr.track(idle, http.StateNew)
	tr.track(idle, http.StateIdle)
	tr.track(fresh, http.StateNew) // over the bound: the idle one goes
	if _, ok := tr.conns[idle]; ok || tr.open() != 2 {
		t.Errorf("after a third: %d open, idle kept %v", tr.open(), ok)
	}
	late := pipe()
	tr.track(late, http.StateNew) // the older fresh one goes
	if _, ok := tr.conns[fresh]; ok || tr.open() != 2 {
		t.Errorf("after a fourth: %d open, fresh kept %v", tr.open(), ok)
	}
	tr.track(late, http.StateActive)
	last := pipe()
	tr.track(last, http.StateNew) // only busy ones left: the newcomer goes
	if _, ok := tr.conns[last]; ok || tr.open() != 2 {
		t.Errorf("with only busy ones: %d open", tr.open())
	}
}
