package mcpclient_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/httptoken"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// ---- fixture ------------------------------------------------------------------

// httpHub is a hub whose loopback endpoint listens on a free port.
type httpHub struct {
	*hubFixture
	port  int
	token string
	logs  *logBuf // everything the hub logged
}

// logBuf is a buffer safe for concurrent writes.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (hh *httpHub) logText() string { return hh.logs.String() }

// start is hubFixture.start with the hub's log kept in hh.logs.
func (hh *httpHub) start() {
	hh.logCopy = hh.logs
	hh.hubFixture.start()
}

// startHTTPHub starts a hub with servers (name → entry JSON) and the
// endpoint on a free port; extra is more top-level config JSON ("" or
// `"maxMessageSize": 2048,`).
func startHTTPHub(t testing.TB, servers map[string]string, extra string) *httpHub {
	t.Helper()
	dir := shortTemp(t)
	port := testenv.FreePort(t)
	f := &hubFixture{t: t, home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "config.json"), done: make(chan error, 1), tuning: fastTuning}
	writeHTTPConfig(t, f.cfgPath, servers, fmt.Sprintf(`%s"http": {"port": %d}`, extra, port))
	hh := &httpHub{hubFixture: f, port: port, logs: &logBuf{}}
	hh.start()
	t.Cleanup(f.stop)
	hh.waitHTTP(t)
	return hh
}

func writeHTTPConfig(t testing.TB, path string, servers map[string]string, top string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("{\n  " + top + ",\n  \"mcpServers\": {")
	first := true
	for name, entry := range servers {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "\n    %q: %s", name, entry)
	}
	b.WriteString("\n  }\n}\n")
	if err := os.WriteFile(path+".tmp", []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// waitHTTP waits until the hub reports the endpoint serving, and reads
// its token.
func (hh *httpHub) waitHTTP(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := hh.hub.HTTPStatus()
		if st.URL != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HTTP endpoint did not come up: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tok, err := httptoken.Read(hh.home)
	if err != nil {
		t.Fatal(err)
	}
	hh.token = tok
}

func (hh *httpHub) url(name string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/mcp/%s", hh.port, name)
}

// ---- a raw client ---------------------------------------------------------------

// rawHTTP is a minimal Streamable HTTP client of the test's own, for what
// the SDK clients do not let a test control.
type rawHTTP struct {
	t       testing.TB
	url     string
	token   string
	session string
	proto   string
	hc      *http.Client
}

func (hh *httpHub) raw(t testing.TB, name string) *rawHTTP {
	return &rawHTTP{t: t, url: hh.url(name), token: hh.token, hc: &http.Client{Timeout: 30 * time.Second}}
}

// post sends body and returns the response and its messages: the JSON
// body, or every event of an SSE stream.
func (c *rawHTTP) post(body any, hdr map[string]string) (*http.Response, []map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	if c.proto != "" {
		req.Header.Set("MCP-Protocol-Version", c.proto)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", c.url, err)
	}
	defer resp.Body.Close()
	return resp, readMessages(c.t, resp)
}

func readMessages(t testing.TB, resp *http.Response) []map[string]any {
	t.Helper()
	var out []map[string]any
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err == nil {
			out = append(out, m)
		}
	case strings.HasPrefix(ct, "text/event-stream"):
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				if err := json.Unmarshal([]byte(d), &m); err != nil {
					t.Errorf("SSE data is not JSON: %q", d)
				}
				out = append(out, m)
			}
		}
	default:
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return out
}

func (c *rawHTTP) initialize() map[string]any {
	c.t.Helper()
	resp, msgs := c.post(map[string]any{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{"elicitation": map[string]any{}},
		"clientInfo": map[string]any{"name": "raw-test", "version": "1"},
	}}, nil)
	if resp.StatusCode != 200 || len(msgs) != 1 {
		c.t.Fatalf("initialize: %d %v", resp.StatusCode, msgs)
	}
	c.session = resp.Header.Get("Mcp-Session-Id")
	if c.session == "" {
		c.t.Fatal("initialize answered without Mcp-Session-Id")
	}
	c.proto = "2025-11-25"
	if r, _ := c.post(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}, nil); r.StatusCode != http.StatusAccepted {
		c.t.Fatalf("notifications/initialized: %d", r.StatusCode)
	}
	return msgs[0]
}

var rawID struct {
	sync.Mutex
	n int
}

// call sends a request and returns its response (the last message).
func (c *rawHTTP) call(method string, params any) map[string]any {
	c.t.Helper()
	rawID.Lock()
	rawID.n++
	id := rawID.n
	rawID.Unlock()
	resp, msgs := c.post(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}, nil)
	if resp.StatusCode != 200 || len(msgs) == 0 {
		c.t.Fatalf("%s: HTTP %d %v", method, resp.StatusCode, msgs)
	}
	last := msgs[len(msgs)-1]
	if fmt.Sprint(last["id"]) != fmt.Sprint(id) {
		c.t.Fatalf("%s: the last message is not the response: %v", method, last)
	}
	return last
}

func resultText(m map[string]any) string {
	r, _ := m["result"].(map[string]any)
	cs, _ := r["content"].([]any)
	if len(cs) == 0 {
		b, _ := json.Marshal(m)
		return "no content: " + string(b)
	}
	c0, _ := cs[0].(map[string]any)
	s, _ := c0["text"].(string)
	return s
}

// ---- tests ------------------------------------------------------------------------

// TestHTTPEndpointLegacySession: a legacy session over the endpoint in
// front of the real server-everything, with a bridge on the same server:
// one upstream session for both, the counts in status, DELETE and the 404
// for an unknown session.
func TestHTTPEndpointLegacySession(t *testing.T) {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	hh := startHTTPHub(t, map[string]string{"ev": urlEntry(ev.URL())}, "")
	c := hh.raw(t, "ev")
	init := c.initialize()
	if r, _ := init["result"].(map[string]any); r["protocolVersion"] != "2025-11-25" {
		t.Errorf("initialize: %v", init)
	}
	if got := resultText(c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "over http"}})); got != "Echo: over http" {
		t.Errorf("echo = %q", got)
	}

	// A bridge attaches to the same server: still one upstream session.
	b := launchBridge(t, hh.env(), "ev", "--no-start")
	b.initialize(nil)
	if got := b.toolText(b.ok("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "bridge"}})); got != "Echo: bridge" {
		t.Errorf("bridge echo = %q", got)
	}
	st := hh.hub.Status()
	if len(st.Servers) != 1 || st.Servers[0].HTTPClients != 1 || st.Servers[0].Bridges != 1 || st.Servers[0].SessionsOpened != 1 {
		t.Errorf("status: %+v", st.Servers)
	}
	if st.HTTP.URL != fmt.Sprintf("http://127.0.0.1:%d/mcp", hh.port) || st.HTTP.Sessions != 1 {
		t.Errorf("status.http: %+v", st.HTTP)
	}

	// Progress on the POST's own SSE stream, before the response.
	resp, msgs := c.post(map[string]any{"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": map[string]any{
		"name": "trigger-long-running-operation", "arguments": map[string]any{"duration": 1, "steps": 3},
		"_meta": map[string]any{"progressToken": "tok-1"},
	}}, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("long-running call: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	progress := 0
	for _, m := range msgs[:len(msgs)-1] {
		if m["method"] == "notifications/progress" {
			if p, _ := m["params"].(map[string]any); p["progressToken"] != "tok-1" {
				t.Errorf("progress with the hub's token: %v", m)
			}
			progress++
		}
	}
	if progress == 0 || msgs[len(msgs)-1]["id"] != "slow" {
		t.Errorf("want progress then the response, got %v", msgs)
	}

	// DELETE ends the session; its id is unknown after.
	req, _ := http.NewRequest(http.MethodDelete, c.url, nil)
	req.Header.Set("Authorization", "Bearer "+hh.token)
	req.Header.Set("Mcp-Session-Id", c.session)
	dr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dr.Body.Close()
	if dr.StatusCode/100 != 2 {
		t.Errorf("DELETE: %d", dr.StatusCode)
	}
	if r, _ := c.post(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("a request on a deleted session: %d, want 404", r.StatusCode)
	}
	c.session = "0123456789abcdef0123456789abcdef"
	if r, _ := c.post(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown session: %d, want 404", r.StatusCode)
	}
	c.session = ""
	if r, _ := c.post(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no session header: %d, want 400", r.StatusCode)
	}
	waitFor(t, "the HTTP IDE to detach", func() bool {
		s := hh.hub.Status()
		return s.Servers[0].HTTPClients == 0 && s.Servers[0].Bridges == 1
	})
}

// TestHTTPEndpointPortInUse: a taken port is a clear error in status and
// the log, bridges keep working, and moving http.port in the config
// brings the endpoint up without a restart.
func TestHTTPEndpointPortInUse(t *testing.T) {
	srv := startFault(t, fs.Options{})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	dir := shortTemp(t)
	f := &hubFixture{t: t, home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "config.json"), done: make(chan error, 1), tuning: fastTuning}
	servers := map[string]string{"up": urlEntry(srv.URL())}
	writeHTTPConfig(t, f.cfgPath, servers, fmt.Sprintf(`"http": {"port": %d}`, port))
	hh := &httpHub{hubFixture: f, logs: &logBuf{}}
	hh.start()
	t.Cleanup(f.stop)
	waitFor(t, "the port error in status", func() bool { return hh.hub.HTTPStatus().Error != "" })
	st := hh.hub.Status()
	if !strings.Contains(st.HTTP.Error, fmt.Sprintf("port %d on 127.0.0.1 is already in use", port)) || !strings.Contains(st.HTTP.Error, "http.port") {
		t.Errorf("status: %+v", st.HTTP)
	}
	if !strings.Contains(hh.logText(), "already in use") {
		t.Error("the log does not say the port is in use")
	}
	b := launchBridge(t, f.env(), "up", "--no-start")
	b.initialize(nil)
	if got := b.toolText(b.ok("tools/call", echoArgs("bridge"))); got != "bridge" {
		t.Errorf("bridge: %q", got)
	}
	hh.port = testenv.FreePort(t)
	writeHTTPConfig(t, f.cfgPath, servers, fmt.Sprintf(`"http": {"port": %d}`, hh.port))
	hh.waitHTTP(t)
	c := hh.raw(t, "up")
	c.initialize()
	if got := resultText(c.call("tools/call", echoArgs("moved"))); got != "moved" {
		t.Errorf("after the move: %q", got)
	}
	// http.enabled false stops it.
	writeHTTPConfig(t, f.cfgPath, servers, fmt.Sprintf(`"http": {"port": %d, "enabled": false}`, hh.port))
	waitFor(t, "the endpoint to stop", func() bool { s := hh.hub.HTTPStatus(); return !s.Enabled && s.URL == "" })
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", hh.port), time.Second); err == nil {
		t.Error("the endpoint still listens with http.enabled false")
	}
}

// TestHTTPSessionIdleReaped: a legacy session with no request and no GET
// stream for HTTPSessionIdle is ended (its IDE gets 404 and initializes
// again); one with its GET stream open is kept.
func TestHTTPSessionIdleReaped(t *testing.T) {
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
	hh.stop()
	hh.tuning.HTTPSessionIdle = 400 * time.Millisecond
	hh.start()
	hh.waitHTTP(t)
	idle, held := hh.raw(t, "up"), hh.raw(t, "up")
	idle.initialize()
	held.initialize()
	req, _ := http.NewRequest(http.MethodGet, held.url, nil)
	req.Header.Set("Authorization", "Bearer "+hh.token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", held.session)
	get, err := http.DefaultClient.Do(req)
	if err != nil || get.StatusCode != 200 {
		t.Fatalf("GET stream: %v %v", get, err)
	}
	defer get.Body.Close()
	time.Sleep(900 * time.Millisecond)
	resp, _ := idle.post(map[string]any{"jsonrpc": "2.0", "id": 5, "method": "tools/list"}, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an idle session after HTTPSessionIdle: %d, want 404", resp.StatusCode)
	}
	if m := held.call("tools/list", nil); m["result"] == nil {
		t.Errorf("the session with its GET stream open was ended: %v", m)
	}
	idle.session, idle.proto = "", ""
	idle.initialize()
	if m := idle.call("tools/list", nil); m["result"] == nil {
		t.Errorf("a new session after the 404: %v", m)
	}
}
