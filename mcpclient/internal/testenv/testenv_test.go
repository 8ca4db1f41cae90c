package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{` +
	`"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"testenv","version":"0"}}}`

var httpClient = &http.Client{Timeout: 10 * time.Second}

// post sends one JSON-RPC message to a Streamable HTTP endpoint.
func post(t *testing.T, url, sessionID, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sessionID != "" {
		req.Header.Set("Mcp-Session-Id", sessionID)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return resp, string(b)
}

// initialize runs the initialize request against a Streamable HTTP endpoint
// and returns the session ID.
func initialize(t *testing.T, url string) string {
	t.Helper()
	resp, body := post(t, url, "", initializeBody)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: status %d, body %q", resp.StatusCode, body)
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		t.Fatalf("initialize: no Mcp-Session-Id header; headers %v", resp.Header)
	}
	// The answer is an SSE stream (a priming event with empty data, then
	// the response) or plain JSON, depending on the server's choice.
	if !strings.Contains(body, `"protocolVersion"`) || !strings.Contains(body, `"serverInfo"`) {
		t.Fatalf("initialize: unexpected body %q", body)
	}
	return sid
}

func TestEverythingStreamableHTTP(t *testing.T) {
	e := StartEverything(t, TransportStreamable, 0)
	if want := "/mcp"; !strings.HasSuffix(e.URL(), want) || !strings.HasPrefix(e.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL() = %q", e.URL())
	}
	sid := initialize(t, e.URL())
	resp, body := post(t, e.URL(), sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: status %d, body %q", resp.StatusCode, body)
	}

	// After a restart the old session is unknown: server-everything answers
	// 400 (not the 404 the spec asks for) with a JSON-RPC error.
	port := e.Port()
	e.Restart()
	if e.Port() != port {
		t.Fatalf("port changed across Restart: %d → %d", port, e.Port())
	}
	resp, body = post(t, e.URL(), sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("request with a stale session after restart: status %d, body %q", resp.StatusCode, body)
	}
	var rpc struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &rpc); err != nil || rpc.Error.Code == 0 {
		t.Fatalf("stale session: body %q is not a JSON-RPC error (%v)", body, err)
	}
	t.Logf("stale session after restart: %d %s", resp.StatusCode, strings.TrimSpace(body))
	if sid2 := initialize(t, e.URL()); sid2 == sid {
		t.Fatalf("new session reuses the old ID %q", sid)
	}

	e.Kill()
	if _, err := httpClient.Post(e.URL(), "application/json", strings.NewReader(initializeBody)); err == nil {
		t.Fatal("server still answers after Kill")
	}
	e.Kill() // idempotent
	e.Stop()
}

// openSSE opens the legacy SSE stream and returns the body and the endpoint
// announced in the first event.
func openSSE(t *testing.T, url string) (io.ReadCloser, *bufio.Reader, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{}).Do(req) // no timeout: the body is a stream
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("GET %s: status %d, content type %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	event, data := readEvent(t, r)
	if event != "endpoint" || !strings.HasPrefix(data, "/message?sessionId=") {
		resp.Body.Close()
		t.Fatalf("first SSE event: event %q data %q, want endpoint /message?sessionId=…", event, data)
	}
	return resp.Body, r, data
}

// readEvent reads one server-sent event.
func readEvent(t *testing.T, r *bufio.Reader) (event, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading SSE stream: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "" && (event != "" || data != ""):
			return event, data
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
}

func TestEverythingSSE(t *testing.T) {
	e := StartEverything(t, TransportSSE, 0)
	if !strings.HasSuffix(e.URL(), "/sse") {
		t.Fatalf("URL() = %q", e.URL())
	}
	body, r, endpoint := openSSE(t, e.URL())
	defer body.Close()

	// The session works: initialize is accepted with 202 and answered on
	// the stream.
	resp, err := httpClient.Post(strings.TrimSuffix(e.URL(), "/sse")+endpoint, "application/json", strings.NewReader(initializeBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: status %d", endpoint, resp.StatusCode)
	}
	if event, data := readEvent(t, r); event != "message" || !strings.Contains(data, `"serverInfo"`) {
		t.Fatalf("initialize answer: event %q data %q", event, data)
	}

	// A restart ends the stream; a new one gets a new session.
	e.Restart()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("old SSE stream ended after restart: %v", errOrOK(err))
	case <-time.After(10 * time.Second):
		t.Fatal("old SSE stream still open 10s after restart")
	}
	body2, _, endpoint2 := openSSE(t, e.URL())
	defer body2.Close()
	if endpoint2 == endpoint {
		t.Fatalf("new stream reuses endpoint %q", endpoint)
	}

	e.Kill()
	if _, err := httpClient.Get(e.URL()); err == nil {
		t.Fatal("server still answers after Kill")
	}
}

func TestMCPRemote(t *testing.T) {
	e := StartEverything(t, TransportStreamable, 0)
	cmd := MCPRemoteCmd(t, e.URL(), "--silent")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("mcp-remote stderr:\n%s", stderr.String())
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// readLine waits for the JSON-RPC response with the given id.
	readLine := func(id string) string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("mcp-remote closed stdout before the response to %s", id)
				}
				if strings.Contains(line, `"id":`+id) {
					return line
				}
			case <-timeout:
				t.Fatalf("no response to %s from mcp-remote within 30s", id)
			}
		}
	}
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	// mcp-remote forwards lines as they come: wait for the initialize
	// answer (which carries the session) before sending more.
	send(initializeBody)
	if line := readLine("1"); !strings.Contains(line, `"serverInfo"`) {
		t.Fatalf("initialize via mcp-remote: %s", line)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}`)
	if line := readLine("2"); !strings.Contains(line, "Echo: hi") {
		t.Fatalf("tools/call via mcp-remote: %s", line)
	}

	stdin.Close()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("mcp-remote: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Log("mcp-remote did not exit 10s after stdin closed; killing it")
		_ = cmd.Process.Kill()
		<-waitErr
	}
}

func TestRequireReal(t *testing.T) {
	for _, tc := range []struct {
		require, ci string // "-" = unset
		want        bool
	}{
		{"-", "-", false},
		{"1", "-", true},
		{"0", "true", false},
		{"-", "true", true},
		{"-", "false", false},
		{"", "1", true},
	} {
		for name, v := range map[string]string{EnvRequireReal: tc.require, "CI": tc.ci} {
			if v == "-" {
				t.Setenv(name, "") // restores the old value when the test ends
				os.Unsetenv(name)
			} else {
				t.Setenv(name, v)
			}
		}
		if got := RequireReal(); got != tc.want {
			t.Errorf("%s=%q CI=%q: RequireReal() = %v, want %v", EnvRequireReal, tc.require, tc.ci, got, tc.want)
		}
	}
}
