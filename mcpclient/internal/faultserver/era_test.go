package faultserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// modernBody is a 2026-07-28 request: params with the per-request _meta.
func modernBody(id int, method string, params map[string]any, caps map[string]any) []byte {
	if params == nil {
		params = map[string]any{}
	}
	if caps == nil {
		caps = map[string]any{}
	}
	meta, _ := params["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[mcp.MetaKeyProtocolVersion] = ModernVersion
	meta[mcp.MetaKeyClientCapabilities] = caps
	meta[mcp.MetaKeyClientInfo] = map[string]any{"name": "era-test", "version": "1"}
	params["_meta"] = meta
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return b
}

// postModern sends a modern request with the headers 2026-07-28 requires
// (Mcp-Protocol-Version, Mcp-Method, Mcp-Name) plus extra.
func postModern(t *testing.T, url string, id int, method string, params, caps map[string]any, extra http.Header) *http.Response {
	t.Helper()
	body := modernBody(id, method, params, caps)
	var p struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &p)
	h := http.Header{}
	h.Set(mcp.HeaderProtocolVersion, ModernVersion)
	for k, v := range mcp.StandardHeaders(ModernVersion, mcp.MCPMethod(method), p.Params) {
		h.Set(k, v)
	}
	for k, vs := range extra {
		h[k] = vs
	}
	return post(t, url, string(body), h)
}

func post(t *testing.T, url, body string, h http.Header) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func send(t *testing.T, method, url string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// rpcError decodes the error of a JSON-RPC error response.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Supported []string `json:"supported"`
		Requested string   `json:"requested"`
	} `json:"data"`
}

func decodeError(t *testing.T, body string) rpcError {
	t.Helper()
	var m struct {
		Error *rpcError `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Error == nil {
		t.Fatalf("not a JSON-RPC error: %q (%v)", body, err)
	}
	return *m.Error
}

const initBody = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func TestEraOptions(t *testing.T) {
	if _, err := Start(Options{Era: "future"}); err == nil {
		t.Fatal("unknown era accepted")
	}
	if _, err := Start(Options{Era: EraModern, Transport: TransportSSE}); err == nil {
		t.Fatal("modern SSE accepted")
	}
	s := start(t, Options{})
	if s.Era() != EraLegacy {
		t.Fatalf("default era %q", s.Era())
	}
}

// TestLegacyEra: a legacy server never gives a modern answer.
func TestLegacyEra(t *testing.T) {
	s := start(t, Options{})

	// The modern probe: sessionless server/discover.
	resp := postModern(t, s.URL(), 1, "server/discover", nil, nil, nil)
	if body := readAll(t, resp); resp.StatusCode != 400 || body != BodyNotInitialized ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("probe: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Any other sessionless request, and GET/DELETE without a session.
	resp = post(t, s.URL(), request(1, "tools/list", ""), nil)
	if body := readAll(t, resp); resp.StatusCode != 400 || body != BodyNotInitialized {
		t.Fatalf("sessionless tools/list: %d %q", resp.StatusCode, body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		resp = send(t, m, s.URL(), http.Header{"Mcp-Protocol-Version": {ModernVersion}})
		if body := readAll(t, resp); resp.StatusCode != 400 || body != Body400 {
			t.Fatalf("%s: %d %q", m, resp.StatusCode, body)
		}
	}

	// initialize with modern markers still opens a legacy session.
	ib := strings.Replace(initBody, `"clientInfo"`, `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"clientInfo"`, 1)
	resp = post(t, s.URL(), ib, http.Header{"Mcp-Protocol-Version": {ModernVersion}})
	msg := string(readMessage(t, resp))
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" || !strings.Contains(msg, `"protocolVersion":"2025-11-25"`) {
		t.Fatalf("initialize: %d session %q %s", resp.StatusCode, session, msg)
	}

	// On the session: a modern header is an unknown version; modern _meta
	// with a legacy header is ignored.
	h := http.Header{"Mcp-Session-Id": {session}, "Mcp-Protocol-Version": {ModernVersion}}
	resp = post(t, s.URL(), string(modernBody(2, "server/discover", nil, nil)), h)
	if body := readAll(t, resp); resp.StatusCode != 400 || body != BodyUnsupportedLegacy(ModernVersion) {
		t.Fatalf("modern header on a session: %d %q", resp.StatusCode, body)
	}
	if e := decodeError(t, BodyUnsupportedLegacy(ModernVersion)); e.Code != -32000 ||
		!strings.Contains(e.Message, "2025-11-25, 2025-06-18") {
		t.Fatalf("BodyUnsupportedLegacy: %+v", e)
	}
	h.Set("Mcp-Protocol-Version", "2025-11-25")
	resp = post(t, s.URL(), string(modernBody(3, "tools/list", nil, nil)), h)
	if msg := string(readMessage(t, resp)); resp.StatusCode != 200 || !strings.Contains(msg, `"name":"echo"`) {
		t.Fatalf("modern _meta on a session: %d %s", resp.StatusCode, msg)
	}
	resp = post(t, s.URL(), string(modernBody(4, "server/discover", nil, nil)), h)
	if e := decodeError(t, string(readMessage(t, resp))); e.Code != mcp.METHOD_NOT_FOUND {
		t.Fatalf("server/discover on a session: %+v", e)
	}
	if st := s.Stats(); st.ModernRequests != 0 || st.EraRefusals != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// TestModernEra: a modern-only server refuses legacy traffic as 2026-07-28
// says and serves modern requests.
func TestModernEra(t *testing.T) {
	s := start(t, Options{Era: EraModern})

	resp := post(t, s.URL(), initBody, nil)
	body := readAll(t, resp)
	if resp.StatusCode != 400 || resp.Header.Get("Mcp-Session-Id") != "" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("initialize: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	e := decodeError(t, body)
	if e.Code != -32022 || !slices.Equal(e.Data.Supported, []string{ModernVersion}) ||
		e.Data.Requested != "2025-11-25" || !strings.Contains(e.Message, ModernVersion) ||
		!strings.Contains(body, `"id":0`) {
		t.Fatalf("initialize error: %q", body)
	}
	// A legacy request with a session ID: same refusal.
	resp = post(t, s.URL(), request(1, "tools/list", ""),
		http.Header{"Mcp-Session-Id": {"mcp-session-x"}, "Mcp-Protocol-Version": {"2025-11-25"}})
	if e := decodeError(t, readAll(t, resp)); resp.StatusCode != 400 || e.Code != -32022 || e.Data.Requested != "2025-11-25" {
		t.Fatalf("legacy tools/list: %d %+v", resp.StatusCode, e)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		resp = send(t, m, s.URL(), http.Header{"Mcp-Session-Id": {"x"}})
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("%s: %d %v", m, resp.StatusCode, resp.Header)
		}
	}

	// Modern requests work, and Mcp-Session-Id is ignored.
	resp = postModern(t, s.URL(), 2, "server/discover", nil, nil, http.Header{"Mcp-Session-Id": {"stale"}})
	msg := string(readMessage(t, resp))
	var dr struct {
		Result mcp.DiscoverResult `json:"result"`
	}
	if err := json.Unmarshal([]byte(msg), &dr); err != nil || resp.StatusCode != 200 ||
		!slices.Equal(dr.Result.SupportedVersions, []string{ModernVersion}) || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Fatalf("server/discover: %d %s", resp.StatusCode, msg)
	}
	// An unknown modern version: mcp-go's -32022.
	h := http.Header{mcp.HeaderProtocolVersion: {"2027-01-01"}, mcp.HeaderMethod: {"tools/list"}}
	b := strings.ReplaceAll(string(modernBody(3, "tools/list", nil, nil)), ModernVersion, "2027-01-01")
	resp = post(t, s.URL(), b, h)
	if e := decodeError(t, readAll(t, resp)); resp.StatusCode != 400 || e.Code != -32022 ||
		!slices.Equal(e.Data.Supported, []string{ModernVersion}) {
		t.Fatalf("future version: %d %+v", resp.StatusCode, e)
	}
	// A header that contradicts the body: -32020.
	resp = postModern(t, s.URL(), 4, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "x"}},
		nil, http.Header{mcp.HeaderName: {"slow"}})
	if e := decodeError(t, readAll(t, resp)); resp.StatusCode != 400 || e.Code != -32020 {
		t.Fatalf("Mcp-Name mismatch: %d %+v", resp.StatusCode, e)
	}
	if st := s.Stats(); st.SessionsOpened != 0 || st.EraRefusals != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDualEra: one endpoint, both eras.
func TestDualEra(t *testing.T) {
	s := start(t, Options{Era: EraDual})
	resp := postModern(t, s.URL(), 1, "server/discover", nil, nil, nil)
	msg := string(readMessage(t, resp))
	if resp.StatusCode != 200 || !strings.Contains(msg, `"supportedVersions":["2026-07-28","2025-11-25"`) {
		t.Fatalf("server/discover: %d %s", resp.StatusCode, msg)
	}
	c := newRaw(t, s)
	c.initialize()
	msg = string(readMessage(t, c.mustDo(http.MethodPost, callTool(2, "echo", `{"text":"legacy"}`))))
	if !strings.Contains(msg, `"text":"legacy"`) {
		t.Fatalf("legacy echo: %s", msg)
	}
	// A modern request carrying the legacy session's ID is still modern.
	resp = postModern(t, s.URL(), 3, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "modern"}},
		nil, http.Header{"Mcp-Session-Id": {c.session}})
	msg = string(readMessage(t, resp))
	if resp.StatusCode != 200 || !strings.Contains(msg, `"text":"modern"`) || !strings.Contains(msg, `"resultType":"complete"`) {
		t.Fatalf("modern echo: %d %s", resp.StatusCode, msg)
	}
	resp = post(t, s.URL(), request(4, "tools/list", ""), nil)
	if body := readAll(t, resp); resp.StatusCode != 400 || body != BodyNotInitialized {
		t.Fatalf("sessionless legacy tools/list: %d %q", resp.StatusCode, body)
	}
	if st := s.Stats(); st.SessionsOpened != 1 || st.ModernRequests != 2 || st.EraRefusals != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestModernMRTRRaw checks the wire shape of an input_required result and
// its retry.
func TestModernMRTRRaw(t *testing.T) {
	s := start(t, Options{Era: EraModern})
	caps := map[string]any{"elicitation": map[string]any{}}
	resp := postModern(t, s.URL(), 1, "tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{}}, caps, nil)
	var r struct {
		Result struct {
			ResultType    string                     `json:"resultType"`
			InputRequests map[string]json.RawMessage `json:"inputRequests"`
			RequestState  string                     `json:"requestState"`
		} `json:"result"`
	}
	msg := readMessage(t, resp)
	if err := json.Unmarshal(msg, &r); err != nil || r.Result.ResultType != "input_required" ||
		!strings.Contains(string(r.Result.InputRequests["answer"]), `"method":"elicitation/create"`) ||
		r.Result.RequestState != "elicit-1" {
		t.Fatalf("first call: %s", msg)
	}
	resp = postModern(t, s.URL(), 2, "tools/call", map[string]any{
		"name": "elicit", "arguments": map[string]any{},
		"inputResponses": map[string]any{"answer": map[string]any{"action": "accept", "content": map[string]any{"answer": "7"}}},
		"requestState":   "elicit-1",
	}, caps, nil)
	if msg := string(readMessage(t, resp)); !strings.Contains(msg, `accept {\"answer\":\"7\"}`) {
		t.Fatalf("retry: %s", msg)
	}
	// Without the capability: a tool error, no input request.
	resp = postModern(t, s.URL(), 3, "tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{}}, nil, nil)
	if msg := string(readMessage(t, resp)); !strings.Contains(msg, `"isError":true`) || strings.Contains(msg, "inputRequests") {
		t.Fatalf("no capability: %s", msg)
	}
}

// newModernClient connects mcp-go's dual-era client, which probes with
// server/discover and falls back to initialize.
func newModernClient(t *testing.T, url string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "era-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMCPGoClientEras: mcp-go's dual-era client lands on the era each
// server speaks, and every tool, the resource, the prompt and both
// notifications work there.
func TestMCPGoClientEras(t *testing.T) {
	for _, tc := range []struct{ era, want string }{
		{EraLegacy, "2025-11-25"},
		{EraDual, ModernVersion},
		{EraModern, ModernVersion},
	} {
		t.Run(tc.era, func(t *testing.T) {
			s := start(t, Options{Era: tc.era, ResourceSubscribe: true})
			var mu sync.Mutex
			got := map[string]int{}
			c := newModernClient(t, s.URL(),
				client.WithSamplingHandler(samplingHandler{}),
				client.WithElicitationHandler(elicitHandler{}),
				client.WithRootsHandler(rootsHandler{}))
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				mu.Lock()
				got[n.Method]++
				mu.Unlock()
			})
			if c.ProtocolVersion() != tc.want {
				t.Fatalf("negotiated %q", c.ProtocolVersion())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			call := func(name string, args map[string]any, meta *mcp.Meta) string {
				t.Helper()
				r, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args, Meta: meta}})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if r.IsError {
					t.Fatalf("%s: tool error %s", name, contentText(r.Content))
				}
				return contentText(r.Content)
			}
			if got := call("echo", map[string]any{"text": "hi"}, nil); got != "hi" {
				t.Fatalf("echo %q", got)
			}
			if got := call("progress", map[string]any{"count": 3, "ms": 1}, &mcp.Meta{ProgressToken: "p1"}); got != "sent 3 progress notifications" {
				t.Fatalf("progress %q", got)
			}
			if got := call("elicit", nil, nil); got != `accept {"answer":"42"}` {
				t.Fatalf("elicit %q", got)
			}
			if tc.era != EraLegacy {
				// Legacy needs a GET stream for these (TestMCPGoClient).
				if got := call("sample", map[string]any{"prompt": "p"}, nil); got != "sampled: p" {
					t.Fatalf("sample %q", got)
				}
				if got := call("roots", nil, nil); got != "file:///tmp/a" {
					t.Fatalf("roots %q", got)
				}
			}
			rr, err := c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: "test://static"}})
			if err != nil || len(rr.Contents) != 1 {
				t.Fatalf("resources/read: %v %+v", err, rr)
			}
			pr, err := c.GetPrompt(ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"name": "Ann"}}})
			if err != nil || contentText(pr.Messages[0].Content) != "Hello, Ann!" {
				t.Fatalf("prompts/get: %v %+v", err, pr)
			}
			mu.Lock()
			progress := got["notifications/progress"]
			mu.Unlock()
			if progress != 3 {
				t.Fatalf("%d progress notifications", progress)
			}

			// tools/list_changed and resources/updated.
			if tc.era == EraLegacy {
				if err := c.Subscribe(ctx, mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: "test://static"}}); err != nil {
					t.Fatal(err)
				}
				// A legacy session's notifications ride a POST stream here
				// (no GET stream): hold one open with the slow tool.
				before := s.Stats().Requests["tools/call"]
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "slow", Arguments: map[string]any{"ms": 300}}})
				}()
				waitFor(t, func() bool { return s.Stats().Requests["tools/call"] > before })
				time.Sleep(20 * time.Millisecond) // the call is in the handler
				s.AddTools("added")
				if n := s.NotifyResourceUpdated("test://static"); n != 1 {
					t.Fatalf("resources/updated reached %d", n)
				}
				<-done
			} else {
				stop, err := c.ListenAsync(ctx, mcp.SubscriptionFilter{ToolsListChanged: true, ResourceSubscriptions: []string{"test://static"}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				waitFor(t, func() bool {
					mu.Lock()
					defer mu.Unlock()
					return got[mcp.MethodNotificationSubscriptionsAcknowledged] == 1
				})
				s.AddTools("added")
				if n := s.NotifyResourceUpdated("test://static"); n != 1 {
					t.Fatalf("resources/updated reached %d", n)
				}
			}
			waitFor(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return got["notifications/tools/list_changed"] == 1 && got["notifications/resources/updated"] == 1
			})
			if got := call("added", nil, nil); got != "added" {
				t.Fatalf("added tool: %q", got)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestModernFaults: each fault on modern requests.
func TestModernFaults(t *testing.T) {
	s := start(t, Options{Era: EraModern})
	progress := map[string]any{"name": "progress", "arguments": map[string]any{"count": 2, "ms": 1}, "_meta": map[string]any{"progressToken": 7}}

	// The stream breaks after the progress notifications, before the result.
	s.Inject(Fault{Kind: DropStream, Method: "tools/call", Tool: "progress"})
	resp := postModern(t, s.URL(), 1, "tools/call", progress, nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("DropStream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := newSSE(resp.Body)
	n := 0
	for {
		ev, err := r.next()
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("want unexpected EOF, got %v", err)
			}
			break
		}
		if isResponse(ev.data) {
			t.Fatalf("result got through: %s", ev.data)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d progress events before the drop", n)
	}

	// CorruptSSEClose on a modern answer forced to SSE.
	s.Inject(Fault{Kind: CorruptSSEClose, Method: "tools/list"})
	resp = postModern(t, s.URL(), 2, "tools/list", nil, nil, nil)
	ev, err := newSSE(resp.Body).next()
	if err != nil || ev.data != GarbageData {
		t.Fatalf("CorruptSSEClose: %+v %v", ev, err)
	}

	// 5xx, with Retry-After.
	s.Inject(Fault{Kind: Status5xx, Method: "server/discover", Status: 503, Header: http.Header{"Retry-After": {"1"}}})
	resp = postModern(t, s.URL(), 3, "server/discover", nil, nil, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("Status5xx: %d", resp.StatusCode)
	}

	// 400 with a modern error body.
	s.Inject(Fault{Kind: Modern400, Method: "server/discover", Supported: []string{"2027-01-01", ModernVersion}})
	resp = postModern(t, s.URL(), 4, "server/discover", nil, nil, nil)
	body := readAll(t, resp)
	if e := decodeError(t, body); resp.StatusCode != 400 || e.Code != -32022 ||
		!slices.Equal(e.Data.Supported, []string{"2027-01-01", ModernVersion}) || e.Data.Requested != ModernVersion ||
		!strings.Contains(body, `"id":4`) {
		t.Fatalf("Modern400: %d %s", resp.StatusCode, body)
	}
	s.Inject(Fault{Kind: Modern400, Code: -32020})
	resp = postModern(t, s.URL(), 5, "tools/list", nil, nil, nil)
	if e := decodeError(t, readAll(t, resp)); resp.StatusCode != 400 || e.Code != -32020 {
		t.Fatalf("Modern400 -32020: %d %+v", resp.StatusCode, e)
	}

	// 400 without one: a legacy JSON error, and plain text.
	s.Inject(Fault{Kind: Legacy400})
	resp = postModern(t, s.URL(), 6, "server/discover", nil, nil, nil)
	if body := readAll(t, resp); resp.StatusCode != 400 || body != Body400 {
		t.Fatalf("Legacy400: %d %q", resp.StatusCode, body)
	}
	s.Inject(Fault{Kind: Status5xx, Status: 400})
	resp = postModern(t, s.URL(), 7, "server/discover", nil, nil, nil)
	if body := readAll(t, resp); resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(body, "400 Bad Request") {
		t.Fatalf("plain 400: %d %q", resp.StatusCode, body)
	}

	// Restart on the same port: an open listen stream breaks, requests
	// then work again (no session to lose).
	listen := postModern(t, s.URL(), 8, "subscriptions/listen", map[string]any{"notifications": map[string]any{"toolsListChanged": true}}, nil, nil)
	lr := newSSE(listen.Body)
	if ev, err := lr.next(); err != nil || !strings.Contains(ev.data, "notifications/subscriptions/acknowledged") {
		t.Fatalf("listen: %+v %v", ev, err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if ev, err := lr.next(); err == nil {
		t.Fatalf("listen stream survived Restart: %+v", ev)
	}
	resp = postModern(t, s.URL(), 9, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "back"}}, nil, nil)
	if msg := string(readMessage(t, resp)); resp.StatusCode != 200 || !strings.Contains(msg, `"text":"back"`) {
		t.Fatalf("after Restart: %d %s", resp.StatusCode, msg)
	}
	if st := s.Stats(); st.FaultsFired != 7 || s.PendingFaults() != 0 {
		t.Fatalf("stats %+v pending %d", st, s.PendingFaults())
	}
}

// TestLegacyEraFaultsBeforeRefusal: a fault matching the modern probe fires
// on a legacy server (faults come before the era's refusal).
func TestLegacyEraFaultsBeforeRefusal(t *testing.T) {
	s := start(t, Options{})
	s.Inject(Fault{Kind: Status5xx, Method: "server/discover", Status: 502})
	if resp := postModern(t, s.URL(), 1, "server/discover", nil, nil, nil); resp.StatusCode != 502 {
		t.Fatalf("probe with fault: %d", resp.StatusCode)
	}
	if resp := postModern(t, s.URL(), 2, "server/discover", nil, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("probe: %d", resp.StatusCode)
	}
}

// TestModernListenStreamFaults: a subscriptions/listen stream is the modern
// GET stream for faults, DropStreams and the stream counter.
func TestModernListenStreamFaults(t *testing.T) {
	s := start(t, Options{Era: EraModern})
	listen := func(id int) *sseReader {
		resp := postModern(t, s.URL(), id, "subscriptions/listen",
			map[string]any{"notifications": map[string]any{"toolsListChanged": true, "resourceSubscriptions": []string{"test://static"}}}, nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("listen: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return newSSE(resp.Body)
	}

	// A fault fires when the stream opens: the acknowledgement is lost.
	s.Inject(Fault{Kind: DropStream, Method: "subscriptions/listen"})
	if ev, err := listen(1).next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("DropStream on listen: %+v %v", ev, err)
	}

	r := listen(2)
	ev, err := r.next()
	if err != nil || !strings.Contains(ev.data, `"io.modelcontextprotocol/subscriptionId":2`) {
		t.Fatalf("ack: %+v %v", ev, err)
	}
	if st := s.Stats(); st.ActiveSSEStreams != 1 {
		t.Fatalf("stats %+v", st)
	}
	s.AddTools("x")
	if ev, err := r.next(); err != nil || !strings.Contains(ev.data, "notifications/tools/list_changed") ||
		!strings.Contains(ev.data, `"io.modelcontextprotocol/subscriptionId":2`) {
		t.Fatalf("list_changed: %+v %v", ev, err)
	}
	if n := s.NotifyResourceUpdated("test://static"); n != 1 {
		t.Fatalf("resources/updated reached %d", n)
	}
	if ev, err := r.next(); err != nil || !strings.Contains(ev.data, `"method":"notifications/resources/updated"`) ||
		!strings.Contains(ev.data, `"uri":"test://static"`) || !strings.Contains(ev.data, `"io.modelcontextprotocol/subscriptionId":2`) {
		t.Fatalf("resources/updated: %+v %v", ev, err)
	}
	if n := s.CorruptStreams(false); n != 1 {
		t.Fatalf("CorruptStreams hit %d", n)
	}
	if ev, err := r.next(); err != nil || ev.data != GarbageData {
		t.Fatalf("garbage: %+v %v", ev, err)
	}
	if n := s.DropStreams(); n != 1 {
		t.Fatalf("DropStreams hit %d", n)
	}
	if ev, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after DropStreams: %+v %v", ev, err)
	}
	if !s.WaitFor(5*time.Second, func(st Stats) bool { return st.ActiveSSEStreams == 0 }) {
		t.Fatalf("stats %+v", s.Stats())
	}
}
