package faultserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

const protoVersion = "2025-11-25"

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	// Log lines may arrive while Close waits; t.Logf after the test ended
	// panics, so Close runs in Cleanup before the test is marked done.
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// rawClient speaks MCP with plain net/http.
type rawClient struct {
	t       *testing.T
	url     string
	session string
	hc      *http.Client
}

func newRaw(t *testing.T, s *Server) *rawClient {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &rawClient{t: t, url: s.URL(), hc: &http.Client{Transport: tr}}
}

func (c *rawClient) do(ctx context.Context, method, body string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url, rd)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	} else {
		req.Header.Set("Accept", "text/event-stream")
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
		req.Header.Set("Mcp-Protocol-Version", protoVersion)
	}
	return c.hc.Do(req)
}

func (c *rawClient) mustDo(method, body string) *http.Response {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c.t.Cleanup(cancel)
	resp, err := c.do(ctx, method, body)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func request(id int, method, params string) string {
	if params == "" {
		params = "{}"
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
}

func callTool(id int, name, args string) string {
	return request(id, "tools/call", fmt.Sprintf(`{"name":%q,"arguments":%s}`, name, args))
}

// initialize performs the handshake and keeps the session ID.
func (c *rawClient) initialize() {
	c.t.Helper()
	c.session = ""
	resp := c.mustDo(http.MethodPost, request(0, "initialize",
		`{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"roots":{}},"clientInfo":{"name":"raw","version":"1"}}`))
	msg := readMessage(c.t, resp)
	if resp.StatusCode != 200 {
		c.t.Fatalf("initialize: status %d", resp.StatusCode)
	}
	c.session = resp.Header.Get("Mcp-Session-Id")
	if c.session == "" {
		c.t.Fatalf("initialize: no Mcp-Session-Id; %s", msg)
	}
	if !strings.Contains(string(msg), `"protocolVersion":"2025-11-25"`) {
		c.t.Fatalf("initialize: %s", msg)
	}
	resp = c.mustDo(http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("notifications/initialized: status %d", resp.StatusCode)
	}
}

type sseEvent struct{ event, data string }

type sseReader struct{ br *bufio.Reader }

func newSSE(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReader(r)} }

func (r *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(data) > 0 || ev.event != "" {
				ev.data = strings.Join(data, "\n")
				return ev, nil
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "event:"); ok {
			ev.event = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(v, " "))
		}
	}
}

func isResponse(data string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(data), &m) != nil {
		return false
	}
	_, hasMethod := m["method"]
	_, hasID := m["id"]
	return hasID && !hasMethod
}

// readMessage returns the JSON-RPC response of a POST, JSON or SSE.
func readMessage(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		r := newSSE(resp.Body)
		for {
			ev, err := r.next()
			if err != nil {
				t.Fatalf("SSE read: %v", err)
			}
			if isResponse(ev.data) {
				return []byte(ev.data)
			}
		}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

func TestStreamableBasics(t *testing.T) {
	s := start(t, Options{})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/mcp") {
		t.Fatalf("URL %s", s.URL())
	}
	c := newRaw(t, s)
	c.initialize()

	// mcp-go answers with plain JSON when nothing forces SSE.
	resp := c.mustDo(http.MethodPost, request(1, "tools/list", ""))
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("tools/list content type %q", ct)
	}
	msg := string(readMessage(t, resp))
	for _, want := range []string{`"inputSchema":` + EchoInputSchema, `"outputSchema":` + EchoOutputSchema, `"name":"sample"`} {
		if !strings.Contains(msg, want) {
			t.Fatalf("tools/list lacks %s:\n%s", want, msg)
		}
	}

	resp = c.mustDo(http.MethodPost, callTool(2, "echo", `{"text":"hi","options":{"upper":true,"repeat":2}}`))
	msg = string(readMessage(t, resp))
	if !strings.Contains(msg, `"structuredContent":{"text":"HIHI"}`) {
		t.Fatalf("echo: %s", msg)
	}
	for _, m := range []string{"resources/read", "prompts/get"} {
		params := `{"uri":"test://static"}`
		if m == "prompts/get" {
			params = `{"name":"greet","arguments":{"name":"Ann"}}`
		}
		msg = string(readMessage(t, c.mustDo(http.MethodPost, request(3, m, params))))
		if !strings.Contains(msg, "static resource content") && !strings.Contains(msg, "Hello, Ann!") {
			t.Fatalf("%s: %s", m, msg)
		}
	}

	resp = c.mustDo(http.MethodDelete, "")
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	resp = c.mustDo(http.MethodPost, request(4, "tools/list", ""))
	if resp.StatusCode != 404 {
		t.Fatalf("after DELETE: %d", resp.StatusCode)
	}
	st := s.Stats()
	if st.SessionsOpened != 1 || st.SessionsClosed != 1 || st.Requests["tools/call"] != 1 ||
		st.Requests["tools/list"] != 2 || st.Requests["notifications/initialized"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForceSSEAndProgress(t *testing.T) {
	s := start(t, Options{ForceSSE: true})
	c := newRaw(t, s)
	c.initialize()
	resp := c.mustDo(http.MethodPost, request(1, "tools/call",
		`{"name":"progress","arguments":{"count":3,"ms":1},"_meta":{"progressToken":"tok"}}`))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := newSSE(resp.Body)
	progress := 0
	for {
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ev.data, `"method":"notifications/progress"`) {
			if !strings.Contains(ev.data, `"progressToken":"tok"`) {
				t.Fatalf("progress: %s", ev.data)
			}
			progress++
			continue
		}
		if !strings.Contains(ev.data, "sent 3 progress notifications") {
			t.Fatalf("result: %s", ev.data)
		}
		break
	}
	if progress != 3 {
		t.Fatalf("%d progress notifications", progress)
	}
}

func TestCorruptSSE(t *testing.T) {
	for _, kind := range []Kind{CorruptSSE, CorruptSSEClose, CorruptSSEThenRespond} {
		t.Run(kind.String(), func(t *testing.T) {
			s := start(t, Options{})
			c := newRaw(t, s)
			c.initialize()
			s.Inject(Fault{Kind: kind, Method: "tools/call", Tool: "echo"})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			resp, err := c.do(ctx, http.MethodPost, callTool(1, "echo", `{"text":"hi"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			r := newSSE(resp.Body)
			ev, err := r.next()
			if err != nil || ev.data != GarbageData {
				t.Fatalf("first event %+v, %v", ev, err)
			}
			if json.Valid([]byte(ev.data)) {
				t.Fatal("garbage is valid JSON")
			}
			ev, err = r.next()
			switch kind {
			case CorruptSSE: // held open: only the client's deadline ends it
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("want deadline, got %+v %v", ev, err)
				}
			case CorruptSSEClose: // aborted: not a clean end
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("want unexpected EOF, got %+v %v", ev, err)
				}
			case CorruptSSEThenRespond:
				if err != nil || !strings.Contains(ev.data, `"text":"hi"`) {
					t.Fatalf("want the response, got %+v %v", ev, err)
				}
				if _, err := r.next(); err != io.EOF {
					t.Fatalf("want clean EOF, got %v", err)
				}
			}
			// The fault was used up: the next call is fine.
			msg := readMessage(t, c.mustDo(http.MethodPost, callTool(2, "echo", `{"text":"ok"}`)))
			if !strings.Contains(string(msg), `"text":"ok"`) {
				t.Fatalf("after fault: %s", msg)
			}
		})
	}
}

func TestDropStream(t *testing.T) {
	s := start(t, Options{})
	c := newRaw(t, s)
	c.initialize()
	s.Inject(Fault{Kind: DropStream, Method: "tools/call"})
	resp := c.mustDo(http.MethodPost, request(1, "tools/call",
		`{"name":"progress","arguments":{"count":2,"ms":1},"_meta":{"progressToken":7}}`))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
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
}

func TestForgetSession(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		status int
		body   string
	}{{ForgetSession404, 404, Body404}, {ForgetSession400, 400, Body400}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			s := start(t, Options{})
			c := newRaw(t, s)
			c.initialize()
			get := c.mustDo(http.MethodGet, "")
			if get.StatusCode != 200 {
				t.Fatalf("GET: %d", get.StatusCode)
			}
			s.Inject(Fault{Kind: tc.kind, Method: "tools/list"})
			for i, m := range []string{"tools/list", "tools/call", "GET"} {
				var resp *http.Response
				if m == "GET" {
					resp = c.mustDo(http.MethodGet, "")
				} else {
					resp = c.mustDo(http.MethodPost, request(i, m, `{"name":"echo","arguments":{"text":"x"}}`))
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status || string(b) != tc.body ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: %d %q", m, resp.StatusCode, b)
				}
			}
			// The session's GET stream was ended.
			if _, err := io.ReadAll(get.Body); err != nil {
				t.Fatalf("GET stream: %v", err)
			}
			if s.PendingFaults() != 0 {
				t.Fatal("fault not used up")
			}
			// A new session works.
			c.initialize()
			if msg := readMessage(t, c.mustDo(http.MethodPost, request(9, "tools/list", ""))); !strings.Contains(string(msg), "echo") {
				t.Fatalf("new session: %s", msg)
			}
		})
	}
}

func TestStatusGarbageStall(t *testing.T) {
	s := start(t, Options{})
	c := newRaw(t, s)
	c.initialize()

	s.Inject(Fault{Kind: Status5xx, Status: 429, Count: 2, Header: http.Header{"Retry-After": {"1"}}})
	for i := range 2 {
		resp := c.mustDo(http.MethodPost, request(i, "tools/list", ""))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
		}
	}
	s.Inject(Fault{Kind: Status5xx})
	if resp := c.mustDo(http.MethodPost, request(3, "ping", "")); resp.StatusCode != 503 {
		t.Fatalf("got %d", resp.StatusCode)
	}

	s.Inject(Fault{Kind: Garbage200, Method: "tools/list"})
	resp := c.mustDo(http.MethodPost, request(4, "tools/list", ""))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Valid(b) {
		t.Fatalf("garbage: %d %q", resp.StatusCode, b)
	}

	// Stall forever: the client gives up.
	s.Inject(Fault{Kind: Stall, Method: "tools/list"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if resp, err := c.do(ctx, http.MethodPost, request(5, "tools/list", "")); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("stall: %v", err)
	}

	// Stall with Delay: served late.
	s.Inject(Fault{Kind: Stall, Method: "tools/list", Delay: 100 * time.Millisecond})
	t0 := time.Now()
	msg := readMessage(t, c.mustDo(http.MethodPost, request(6, "tools/list", "")))
	if d := time.Since(t0); d < 100*time.Millisecond || !strings.Contains(string(msg), "echo") {
		t.Fatalf("delayed: %v %s", d, msg)
	}
	if st := s.Stats(); st.FaultsFired != 6 {
		t.Fatalf("faults fired %d", st.FaultsFired)
	}
}

func TestRestart(t *testing.T) {
	for _, opt := range []bool{false, true} {
		t.Run(fmt.Sprint("UnknownSession400=", opt), func(t *testing.T) {
			s := start(t, Options{UnknownSession400: opt})
			c := newRaw(t, s)
			c.initialize()
			url := s.URL()
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if s.URL() != url {
				t.Fatal("URL changed")
			}
			for _, m := range []string{http.MethodPost, http.MethodGet} {
				resp := c.mustDo(m, request(1, "tools/list", ""))
				b, _ := io.ReadAll(resp.Body)
				want := 404
				if opt {
					want = 400
					if string(b) != Body400 {
						t.Fatalf("%s body %q", m, b)
					}
				}
				if resp.StatusCode != want {
					t.Fatalf("%s old session: %d %q", m, resp.StatusCode, b)
				}
			}
			c.initialize()
			if st := s.Stats(); st.SessionsOpened != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestFixedAddr(t *testing.T) {
	s1 := start(t, Options{})
	addr := s1.Addr()
	s1.Close()
	s2 := start(t, Options{Addr: addr})
	if s2.URL() != "http://"+addr+"/mcp" {
		t.Fatal(s2.URL())
	}
	newRaw(t, s2).initialize()
	if _, err := Start(Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("non-loopback address accepted")
	}
}

func TestSlowCancelled(t *testing.T) {
	s := start(t, Options{})
	c := newRaw(t, s)
	c.initialize()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if resp, err := c.do(ctx, http.MethodPost, callTool(1, "slow", `{"ms":10000}`)); err == nil {
		resp.Body.Close()
		t.Fatal("slow answered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Cancelled() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow was not cancelled")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEndStreams: EndStreams ends a GET stream the way a server closing
// it does, a clean end of the response (where DropStreams breaks it).
func TestEndStreams(t *testing.T) {
	s := start(t, Options{})
	c := newRaw(t, s)
	c.initialize()
	get := c.mustDo(http.MethodGet, "")
	if !s.WaitFor(2*time.Second, func(st Stats) bool { return st.ActiveSSEStreams == 1 }) {
		t.Fatal("stream not counted")
	}
	if n := s.EndStreams(); n != 1 {
		t.Fatalf("ended %d", n)
	}
	if _, err := newSSE(get.Body).next(); err != io.EOF {
		t.Fatalf("after EndStreams: %v, want a clean end", err)
	}
	if !s.WaitFor(2*time.Second, func(st Stats) bool { return st.ActiveSSEStreams == 0 }) {
		t.Fatal("stream still counted")
	}
}

func TestGetStreamFaultsAndSetTools(t *testing.T) {
	s := start(t, Options{})
	c := newRaw(t, s)
	c.initialize()

	// A stream fault on GET fires as soon as the stream opens.
	s.Inject(Fault{Kind: CorruptSSE, Method: MethodGET})
	get := c.mustDo(http.MethodGet, "")
	r := newSSE(get.Body)
	if ev, err := r.next(); err != nil || ev.data != GarbageData {
		t.Fatalf("GET: %+v %v", ev, err)
	}
	if !s.WaitFor(2*time.Second, func(st Stats) bool { return st.ActiveSSEStreams == 1 }) {
		t.Fatal("stream not counted")
	}

	// The stream carries on: tools/list_changed arrives on it.
	s.SetTools("echo", "extra")
	ev, err := r.next()
	if err != nil || !strings.Contains(ev.data, "notifications/tools/list_changed") {
		t.Fatalf("list_changed: %+v %v", ev, err)
	}
	msg := string(readMessage(t, c.mustDo(http.MethodPost, request(1, "tools/list", ""))))
	if !strings.Contains(msg, `"name":"extra"`) || strings.Contains(msg, `"name":"slow"`) {
		t.Fatalf("tools/list: %s", msg)
	}

	if n := s.CorruptStreams(false); n != 1 {
		t.Fatalf("corrupted %d", n)
	}
	if ev, err := r.next(); err != nil || ev.data != GarbageData {
		t.Fatalf("corrupt: %+v %v", ev, err)
	}
	if n := s.DropStreams(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("drop: %v", err)
	}
	if !s.WaitFor(2*time.Second, func(st Stats) bool { return st.ActiveSSEStreams == 0 }) {
		t.Fatal("stream still counted")
	}

	// DropStream on GET: headers, then the connection breaks.
	s.Inject(Fault{Kind: DropStream, Method: MethodGET})
	get = c.mustDo(http.MethodGet, "")
	if get.StatusCode != 200 {
		t.Fatal(get.StatusCode)
	}
	if _, err := io.ReadAll(get.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("GET drop: %v", err)
	}
}

func TestLegacySSE(t *testing.T) {
	s := start(t, Options{Transport: TransportSSE})
	if !strings.HasSuffix(s.URL(), "/sse") {
		t.Fatal(s.URL())
	}
	c := newRaw(t, s)
	stream := c.mustDo(http.MethodGet, "")
	r := newSSE(stream.Body)
	ev, err := r.next()
	if err != nil || ev.event != "endpoint" {
		t.Fatalf("endpoint: %+v %v", ev, err)
	}
	post := &rawClient{t: t, url: ev.data, hc: c.hc}
	sendOK := func(body string) {
		t.Helper()
		if resp := post.mustDo(http.MethodPost, body); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	nextResponse := func() string {
		t.Helper()
		for {
			ev, err := r.next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.data == GarbageData || isResponse(ev.data) {
				return ev.data
			}
		}
	}
	sendOK(request(0, "initialize", `{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`))
	if msg := nextResponse(); !strings.Contains(msg, `"protocolVersion"`) {
		t.Fatal(msg)
	}
	sendOK(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	// The response on the stream is replaced by garbage; the stream goes on.
	s.Inject(Fault{Kind: CorruptSSE, Method: "tools/call"})
	sendOK(callTool(1, "echo", `{"text":"a"}`))
	if msg := nextResponse(); msg != GarbageData {
		t.Fatalf("want garbage, got %s", msg)
	}
	sendOK(callTool(2, "echo", `{"text":"b"}`))
	if msg := nextResponse(); !strings.Contains(msg, `"text":"b"`) {
		t.Fatal(msg)
	}

	s.Inject(Fault{Kind: Status5xx, Status: 502, Method: "tools/list"})
	if resp := post.mustDo(http.MethodPost, request(3, "tools/list", "")); resp.StatusCode != 502 {
		t.Fatal(resp.StatusCode)
	}

	// Forgetting the session: 404, and the /sse stream ends.
	s.Inject(Fault{Kind: ForgetSession404})
	for range 2 {
		if resp := post.mustDo(http.MethodPost, request(4, "tools/list", "")); resp.StatusCode != 404 {
			t.Fatal(resp.StatusCode)
		}
	}
	if _, err := io.ReadAll(stream.Body); err != nil {
		t.Fatalf("stream end: %v", err)
	}

	// mcp-go's own answer for a session it never had: 400, JSON-RPC error.
	bogus := &rawClient{t: t, url: strings.Replace(ev.data, "sessionId=", "sessionId=x", 1), hc: c.hc}
	resp := bogus.mustDo(http.MethodPost, request(5, "tools/list", ""))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "Invalid session ID") {
		t.Fatalf("unknown session: %d %s", resp.StatusCode, b)
	}

	// DropStream on the /sse stream: endpoint event, then a broken stream.
	s.Inject(Fault{Kind: DropStream, Method: MethodGET})
	stream = c.mustDo(http.MethodGet, "")
	r = newSSE(stream.Body)
	if ev, err := r.next(); err != nil || ev.event != "endpoint" {
		t.Fatalf("endpoint: %+v %v", ev, err)
	}
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("drop: %v", err)
	}

	// DropStream on a response: the /sse stream breaks instead of carrying it.
	stream = c.mustDo(http.MethodGet, "")
	r = newSSE(stream.Body)
	ev, err = r.next()
	if err != nil || ev.event != "endpoint" {
		t.Fatalf("endpoint: %+v %v", ev, err)
	}
	post = &rawClient{t: t, url: ev.data, hc: c.hc}
	s.Inject(Fault{Kind: DropStream, Method: "ping"})
	sendOK(request(6, "ping", ""))
	if ev, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("drop on response: %+v %v", ev, err)
	}
}

type samplingHandler struct{}

func (samplingHandler) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	prompt := contentText(req.Messages[0].Content)
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{Role: mcp.RoleAssistant, Content: mcp.NewTextContent("sampled: " + prompt)},
		Model:           "test-model",
		StopReason:      "endTurn",
	}, nil
}

type elicitHandler struct{}

func (elicitHandler) Elicit(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
		Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"answer": "42"}}}, nil
}

type rootsHandler struct{}

func (rootsHandler) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file:///tmp/a", Name: "a"}}}, nil
}

func TestMCPGoClient(t *testing.T) {
	s := start(t, Options{})
	tr, err := transport.NewStreamableHTTP(s.URL(),
		transport.WithContinuousListening(), // sampling and roots travel on the GET stream
		transport.WithHTTPLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr,
		client.WithProtocolVersion(mcp.ProtocolVersion20251125), // no server/discover probe
		client.WithSamplingHandler(samplingHandler{}),
		client.WithElicitationHandler(elicitHandler{}),
		client.WithRootsHandler(rootsHandler{}))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtocolVersion != mcp.ProtocolVersion20251125 || tr.GetSessionId() == "" {
		t.Fatalf("initialize: %+v session %q", res, tr.GetSessionId())
	}

	call := func(name string, args map[string]any) string {
		t.Helper()
		r, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.IsError {
			t.Fatalf("%s: tool error %s", name, contentText(r.Content))
		}
		return contentText(r.Content)
	}
	if got := call("echo", map[string]any{"text": "hello"}); got != "hello" {
		t.Fatalf("echo: %q", got)
	}
	if got := call("sample", map[string]any{"prompt": "ping"}); got != "sampled: ping" {
		t.Fatalf("sample: %q", got)
	}
	if got := call("elicit", nil); got != `accept {"answer":"42"}` {
		t.Fatalf("elicit: %q", got)
	}
	if got := call("roots", nil); got != "file:///tmp/a" {
		t.Fatalf("roots: %q", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Requests["server/discover"] != 0 || st.SessionsOpened != 1 || st.SessionsClosed != 1 ||
		st.Requests[MethodResponse] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCloseStopsEverything closes a server with a held response, a stalled
// request, an open GET stream and a running tool, and checks that Close
// returns promptly and leaves no server goroutine behind.
func TestCloseStopsEverything(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newRaw(t, s)
	c.initialize()
	get := c.mustDo(http.MethodGet, "")
	errs := make(chan error, 3)
	go func() {
		resp, err := c.do(context.Background(), http.MethodPost, callTool(1, "slow", `{"ms":60000}`))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errs <- err
	}()
	s.Inject(Fault{Kind: Stall, Method: "tools/list"})
	s.Inject(Fault{Kind: CorruptSSE, Method: "prompts/list"})
	for _, m := range []string{"tools/list", "prompts/list"} {
		go func() {
			resp, err := c.do(context.Background(), http.MethodPost, request(2, m, ""))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	if !s.WaitFor(5*time.Second, func(st Stats) bool {
		return st.Requests["tools/call"] == 1 && st.Requests["tools/list"] == 1 && st.Requests["prompts/list"] == 1 &&
			st.ActiveSSEStreams == 1
	}) {
		t.Fatalf("requests not in flight: %+v", s.Stats())
	}
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	s.Close()
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	for range 3 {
		if err := <-errs; err == nil {
			t.Fatal("a request succeeded after Close")
		}
	}
	if _, err := io.ReadAll(get.Body); err == nil {
		t.Fatal("GET stream ended cleanly")
	}
	if s.Cancelled() != 1 {
		t.Fatalf("slow cancelled %d", s.Cancelled())
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "mcp-go/server.") || strings.Contains(g, "faultserver.(*Server)") ||
				strings.Contains(g, "faultserver.(*instance)") || strings.Contains(g, "net/http.(*conn).serve") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
