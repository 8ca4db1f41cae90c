package cli_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// A server that echoes the request's headers — in a 500 body, in a
// response header and in an SSE event — must not get the secrets the hub
// sent it into anything the hub shows or writes: the IDE's errors,
// `status` (text and --json), `doctor` (text and --json), `call`, the
// window's text and the hub's log.
func TestSecretsNeverShown(t *testing.T) {
	bridge := bridgeBin(t)
	s := newSandbox(t)
	t.Setenv("MCPTRAY_LOG_LEVEL", "debug")
	secret := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	custom, viaEnv, inURL, access, refresh, stored := secret(), secret(), secret(), secret(), secret(), secret()
	t.Setenv("MCPT_TEST_API_TOKEN", viaEnv)
	t.Setenv("MCPT_TEST_PATH_KEY", inURL)
	all := map[string]string{"X-Custom-Auth": custom, "${env:} header": viaEnv, "${env:} in the url": inURL,
		"access token": access, "refresh token": refresh, "${secret:} header": stored}

	srv := httptest.NewServer(echoServer(t))
	t.Cleanup(srv.Close)
	headers := fmt.Sprintf(`{"X-Custom-Auth": "Token %s", "X-Api-Token": "${env:MCPT_TEST_API_TOKEN}", "X-Stored": "Key ${secret:test-stored}"}`, custom)
	writeFile(t, s.cfgPath, fmt.Sprintf(`{"mcpServers": {
  "echo":   {"url": %q, "transport": "streamable-http", "headers": %s},
  "broken": {"url": %q, "transport": "streamable-http", "headers": %s},
  "oauth":  {"url": %q, "transport": "streamable-http"}
}}`, srv.URL+"/echo/${env:MCPT_TEST_PATH_KEY}/mcp", headers, srv.URL+"/broken/${env:MCPT_TEST_PATH_KEY}/mcp", headers, srv.URL+"/broken/oauth"))

	// The hub holds OAuth tokens for "oauth" (signed in earlier).
	store := auth.NewFileStore(filepath.Join(s.state, "test-credentials.json"))
	if err := os.MkdirAll(s.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(context.Background(), auth.Key(srv.URL+"/broken/oauth", ""), &auth.Credentials{
		ServerURL: srv.URL + "/broken/oauth", ClientID: "mcptray-test", AccessToken: access, RefreshToken: refresh,
		TokenType: "Bearer", Expiry: time.Now().Add(time.Hour), IssuedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	// And a secret of ${secret:…} (mcptray secret set).
	if err := auth.NewSecrets(store, auth.SecretsOptions{}).Set(context.Background(), "test-stored", stored); err != nil {
		t.Fatal(err)
	}

	// The hub as `mcptray serve` builds it: HubLogger (hub.log in the state
	// dir, and stderr) sharing the hub's set of secrets.
	known := logfile.NewSecrets()
	var stderr syncBuffer
	log, closeLog := cli.HubLogger(&stderr, known)
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{
		ConfigPath: s.cfgPath, Home: s.state, Logger: log, Secrets: known, Mode: "headless",
		CredentialStore: store, NoAutoLogin: true,
		Tuning: mcpclient.Tuning{HoldTimeout: 2 * time.Second, OutageHold: time.Second, ConnectTimeout: 5 * time.Second,
			Backoff: mcpclient.Backoff{Base: 50 * time.Millisecond, Cap: 300 * time.Millisecond}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("hub did not stop")
		}
		closeLog()
	})
	waitFor(t, 15*time.Second, "echo connected, broken and oauth failing with the echo", func() bool {
		ok := 0
		for _, st := range hub.Snapshot(false) {
			switch {
			case st.Name == "echo" && st.State == mcpclient.StateConnected:
				ok++
			case st.Name != "echo" && strings.Contains(st.LastError, "HTTP 500") && strings.Contains(st.LastError, "c1 "):
				ok++
			}
		}
		return ok == 3
	})

	var shown []string // everything to check, named
	show := func(what, text string) { shown = append(shown, what+"\x00"+text) }

	// The IDE: errors from a 500 body, from an SSE event, and from a
	// server that is down (its last error).
	ide := startMiniIDE(t, bridge, "echo")
	ide.call(t, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "t", "version": "1"}})
	for _, tool := range []string{"echo500", "echosse"} {
		line := ide.call(t, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}})
		if !strings.Contains(line, `"error"`) || !strings.Contains(line, "c1 ") {
			t.Errorf("tools/call %s: want an error with the server's words, got %s", tool, line)
		}
	}
	ide2 := startMiniIDE(t, bridge, "broken")
	ide2.call(t, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "t", "version": "1"}})
	if line := ide2.call(t, "tools/list", nil); !strings.Contains(line, `"error"`) {
		t.Errorf("tools/list on broken: %s", line)
	}
	show("the IDE's lines (echo)", ide.transcript())
	show("the IDE's lines (broken)", ide2.transcript())

	show("status", mustRun(t, "status"))
	show("status --json", mustRun(t, "status", "--json"))
	_, out, errs := run(t, "call", "echo", "echo500")
	if !strings.Contains(out+errs, "c1 ") {
		t.Errorf("call echo echo500: want the server's words, got %s %s", out, errs)
	}
	show("call", out+errs)
	_, out, errs = run(t, "doctor")
	if !strings.Contains(out, "c1 ") {
		t.Errorf("doctor does not show the server's answer; the check proves little:\n%s", out)
	}
	show("doctor", out+errs)
	_, out, errs = run(t, "doctor", "--json")
	show("doctor --json", out+errs)

	// The window: what its rows, error lines and history are made of (the
	// app renders these snapshot fields and nothing else; mcpclient may
	// not import the Fyne app, not even in a test: it must build for
	// every OS without cgo).
	snap := hub.Snapshot(true)
	var win strings.Builder
	win.WriteString(hub.ConfigError() + "\n")
	for _, st := range snap {
		b, _ := json.Marshal(st)
		win.Write(b)
		fmt.Fprintf(&win, "\n%s %s %s %s\n", st.Name, st.URL, st.State, st.LastError)
		for _, e := range st.Events {
			win.WriteString(e.Reason + "\n")
		}
	}
	show("window", win.String())
	if err := hub.Logout(context.Background(), "oauth"); err != nil {
		show("logout error", err.Error())
	}

	// Make sure the log has everything, then read it.
	time.Sleep(200 * time.Millisecond)
	hubLog := readFile(t, paths.HubLog(s.state))
	if !strings.Contains(hubLog, "HTTP 500") {
		t.Errorf("hub.log lacks the server's errors; the check proves little:\n%s", hubLog)
	}
	show("hub.log", hubLog)
	show("the hub's stderr", stderr.String())

	for _, sh := range shown {
		what, text, _ := strings.Cut(sh, "\x00")
		if os.Getenv("MCPT_TEST_SHOW") != "" {
			t.Logf("==== %s\n%s", what, text)
		}
		for name, v := range all {
			if i := strings.Index(text, v[:12]); i >= 0 {
				t.Errorf("%s shows the %s (%s…) at byte %d:\n%s", what, name, v[:12], i, excerpt(text, i))
			}
		}
	}
	if !strings.Contains(hubLog, logfile.Redacted) {
		t.Errorf("hub.log has no %s at all", logfile.Redacted)
	}
}

// echoServer is a minimal Streamable HTTP MCP server that echoes each
// request's headers everywhere it can: under /echo/ it works but fails the
// tools echo500 (a 500 whose body has them) and echosse (an error in an
// SSE event); under /broken/ every POST is a 500 with them. Every
// response carries them in X-Echo too.
func echoServer(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump := fmt.Sprintf("c1 %s / c2 %s / c4 %s / path %s / all %v",
			r.Header.Get("X-Custom-Auth"), r.Header.Get("X-Api-Token"),
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.URL.Path, r.Header)
		w.Header().Set("X-Echo", dump)
		if r.Method == http.MethodDelete {
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "no GET stream here; you sent "+dump, http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/broken/") {
			http.Error(w, "internal error; you sent "+dump, http.StatusInternalServerError)
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name            string `json:"name"`
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"params"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		if len(m.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		reply := func(v map[string]any) {
			v["jsonrpc"], v["id"] = "2.0", m.ID
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
		switch {
		case m.Method == "initialize":
			w.Header().Set("Mcp-Session-Id", "s1")
			reply(map[string]any{"result": map[string]any{"protocolVersion": m.Params.ProtocolVersion,
				"capabilities": map[string]any{"tools": map[string]any{}}, "serverInfo": map[string]any{"name": "echo", "version": "1"}}})
		case m.Method == "tools/list":
			reply(map[string]any{"result": map[string]any{"tools": []any{
				map[string]any{"name": "echo500", "inputSchema": map[string]any{"type": "object"}},
				map[string]any{"name": "echosse", "inputSchema": map[string]any{"type": "object"}},
			}}})
		case m.Method == "tools/call" && m.Params.Name == "echo500":
			http.Error(w, "internal error; you sent "+dump, http.StatusInternalServerError)
		case m.Method == "tools/call" && m.Params.Name == "echosse":
			b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": m.ID,
				"error": map[string]any{"code": -32603, "message": "denied; you sent " + dump}})
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", b)
		case m.Method == "ping":
			reply(map[string]any{"result": map[string]any{}})
		default:
			reply(map[string]any{"error": map[string]any{"code": -32601, "message": "no " + m.Method}})
		}
	})
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func excerpt(s string, i int) string {
	from, to := max(i-200, 0), min(i+200, len(s))
	return s[from:to]
}

// miniIDE runs the real bridge as an IDE would and keeps every line it
// got.
type miniIDE struct {
	in     io.WriteCloser
	lines  chan string
	mu     sync.Mutex
	all    []string
	nextID int
}

func startMiniIDE(t *testing.T, bridge, name string) *miniIDE {
	t.Helper()
	cmd := exec.Command(bridge, name)
	cmd.Env = os.Environ()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &miniIDE{in: in, lines: make(chan string, 64)}
	go func() {
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := r.ReadString('\n')
			if line = strings.TrimSpace(line); line != "" {
				c.mu.Lock()
				c.all = append(c.all, line)
				c.mu.Unlock()
				c.lines <- line
			}
			if err != nil {
				close(c.lines)
				return
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
		if t.Failed() {
			t.Logf("bridge %s stderr:\n%s", name, errb.String())
		}
	})
	return c
}

// call sends a request and returns the raw response line.
func (c *miniIDE) call(t *testing.T, method string, params any) string {
	t.Helper()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	msg := map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	if method == "initialize" {
		defer func() { _, _ = c.in.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")) }()
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("%s: the bridge closed its output", method)
			}
			var r struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal([]byte(line), &r) == nil && string(r.ID) == id {
				return line
			}
		case <-deadline:
			t.Fatalf("%s: no answer within 30 s", method)
		}
	}
}

func (c *miniIDE) transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.all, "\n")
}
