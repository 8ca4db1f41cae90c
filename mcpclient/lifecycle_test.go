package mcpclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// realHome is a state dir and config for the real binaries.
type realHome struct {
	home, cfg string
}

func newRealHome(t *testing.T, servers map[string]string) *realHome {
	dir := shortTemp(t)
	h := &realHome{home: filepath.Join(dir, "home"), cfg: filepath.Join(dir, "config.json")}
	writeConfig(t, h.cfg, servers)
	t.Cleanup(func() { h.stopHub(t) })
	return h
}

func (h *realHome) env() []string {
	return append(os.Environ(), "MCPTRAY_HOME="+h.home, "MCPTRAY_CONFIG="+h.cfg)
}

func (h *realHome) ping() (*ipc.HubInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rep, err := ipc.Request(ctx, paths.Socket(h.home), ipc.Hello{Op: ipc.OpPing})
	if err != nil {
		return nil, err
	}
	return rep.Hub, nil
}

// stopHub ends whatever hub runs on this home.
func (h *realHome) stopHub(t *testing.T) {
	if info, err := h.ping(); err == nil {
		if p, err := os.FindProcess(info.PID); err == nil {
			_ = p.Signal(syscall.SIGTERM)
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := h.ping(); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (h *realHome) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bins(t), "mcptray"), args...)
	cmd.Env = h.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// frontProxy forwards to the fault server, for tests that watch or alter
// the HTTP traffic.
func frontProxy(srv *fs.Server) *httputil.ReverseProxy {
	target, _ := url.Parse(srv.URL())
	target.Path = ""
	return httputil.NewSingleHostReverseProxy(target)
}

// TestHubKilled: the hub dies with SIGKILL mid-session; the bridge starts a
// new one, re-attaches, replays initialize, and the IDE's next call works.
// The call in flight at that moment gets an error.
func TestHubKilled(t *testing.T) {
	srv := startFault(t, fs.Options{})
	h := newRealHome(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, h.env(), "up") // starts the hub itself
	c.initialize(nil)
	if got := c.toolText(c.ok("tools/call", echoArgs("one"))); got != "one" {
		t.Fatalf("echo = %q", got)
	}
	info, err := h.ping()
	if err != nil {
		t.Fatalf("the bridge did not start a hub: %v", err)
	}
	_, inflight := c.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 10000}})
	time.Sleep(200 * time.Millisecond)
	hubProc, err := os.FindProcess(info.PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := hubProc.Kill(); err != nil { // SIGKILL: a crash, no goodbye
		t.Fatal(err)
	}
	r := c.wait(inflight, "in-flight call", 10*time.Second)
	if r.Error == nil || !strings.Contains(r.Error.Message, "hub restarted") {
		t.Errorf("in-flight call: want a 'hub restarted' error, got %s", r.raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ni, err := h.ping(); err == nil && ni.PID != info.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new hub came up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := c.toolText(c.ok("tools/call", echoArgs("two"))); got != "two" {
		t.Fatalf("after the hub restart: echo = %q", got)
	}
	out, _, _ := h.run(t, "status", "--json")
	if !strings.Contains(out, `"bridges": 1`) {
		t.Errorf("the new hub does not see the re-attached bridge:\n%s", out)
	}
}

// TestServeLifecycle: one hub per user; SIGTERM closes upstream sessions
// and removes the socket.
func TestServeLifecycle(t *testing.T) {
	srv := startFault(t, fs.Options{})
	h := newRealHome(t, map[string]string{"up": urlEntry(srv.URL())})
	serve := exec.Command(filepath.Join(bins(t), "mcptray"), "serve")
	serve.Env = h.env()
	var logb bytes.Buffer
	serve.Stderr = &logb
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for !srv.WaitFor(10*time.Millisecond, func(s fs.Stats) bool { return s.SessionsOpened == 1 }) {
		if time.Now().After(deadline) {
			t.Fatalf("hub did not connect; log:\n%s", logb.String())
		}
	}
	_, errOut, code := h.run(t, "serve")
	if code != 1 || !strings.Contains(errOut, "already running") || !strings.Contains(errOut, "pid") {
		t.Errorf("second serve: code %d, stderr %q", code, errOut)
	}
	_ = serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v; log:\n%s", err, logb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if _, err := os.Stat(paths.Socket(h.home)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	if st := srv.Stats(); st.SessionsClosed != 1 {
		t.Errorf("upstream session not closed on exit: %+v", st)
	}
}

// TestBridgeNoHub: with no hub and --no-start, the bridge says so on
// stderr and answers the IDE with a JSON-RPC error.
func TestBridgeNoHub(t *testing.T) {
	h := newRealHome(t, map[string]string{})
	c := launchBridge(t, h.env(), "up", "--no-start")
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}})
	if r.Error == nil || !strings.Contains(r.Error.Message, "no mcptray hub") {
		t.Fatalf("want a 'no hub' error, got %s", r.raw)
	}
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the bridge did not exit")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d", code)
	}
	if !strings.Contains(c.stderrText(), "mcptray serve") {
		t.Errorf("stderr does not say what to do: %q", c.stderrText())
	}
}

// TestBridgeUnknownServer: attaching to a name that is not configured is a
// clear error naming it and the config file.
func TestBridgeUnknownServer(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "nope", "--no-start")
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}})
	if r.Error == nil || !strings.Contains(r.Error.Message, `"nope"`) || !strings.Contains(r.Error.Message, f.cfgPath) {
		t.Fatalf("want an error naming the server and config, got %s", r.raw)
	}
	<-c.exited
	if !strings.Contains(c.stderrText(), "nope") {
		t.Errorf("stderr: %q", c.stderrText())
	}
}

// TestBadInputFromIDE: malformed lines get JSON-RPC errors and the session
// goes on.
func TestBadInputFromIDE(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.send([]byte(`{"jsonrpc":"2.0","id":9,"method":`))
	n := c.waitNote("", func(r *rpcResp) bool { return r.Error != nil && r.Error.Code == -32700 }, 5*time.Second)
	if string(n.ID) != "null" {
		t.Errorf("parse error id = %s", n.ID)
	}
	c.send([]byte(`[{"jsonrpc":"2.0","id":10,"method":"ping"}]`))
	c.waitNote("", func(r *rpcResp) bool { return r.Error != nil && r.Error.Code == -32600 }, 5*time.Second)
	c.send([]byte("\x00\x01 binary junk \xff"))
	c.waitNote("", func(r *rpcResp) bool { return r.Error != nil && r.Error.Code == -32700 }, 5*time.Second)
	r := c.call("no/such/method", nil)
	if r.Error == nil || r.Error.Code != -32601 {
		t.Errorf("unknown method: %s", r.raw)
	}
	if got := c.toolText(c.ok("tools/call", echoArgs("still here"))); got != "still here" {
		t.Fatalf("echo after bad input = %q", got)
	}
	if r := c.call("ping", nil); r.Error != nil {
		t.Errorf("ping: %s", r.raw)
	}
}

// TestStdinClosedMidCall: the IDE closes stdin during a call; the bridge
// waits for the answer up to --eof-grace, answers it with an error, exits;
// the hub cancels the upstream call and stays healthy.
func TestStdinClosedMidCall(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start", "--eof-grace", "300ms")
	c.initialize(nil)
	_, slow := c.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	time.Sleep(200 * time.Millisecond)
	c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the bridge did not exit when stdin closed")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if r := c.wait(slow, "the call in flight at EOF", time.Second); r.Error == nil ||
		!strings.Contains(r.Error.Message, "stdin closed, and no answer came within 300ms") {
		t.Errorf("the call in flight at EOF: %s", r.raw)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.status("up").Bridges != 0 || srv.Cancelled() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("bridges %d, upstream cancelled %d", f.status("up").Bridges, srv.Cancelled())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2 := launchBridge(t, f.env(), "up", "--no-start")
	c2.initialize(nil)
	c2.ok("tools/call", echoArgs("ok"))
}

// TestPipedRequests: a script pipes requests in and closes stdin at once,
// before any answer came: it still gets every answer, then the bridge
// exits.
func TestPipedRequests(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{"ms":1500}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"piped"}}}`,
	}, "\n") + "\n"
	cmd := exec.Command(filepath.Join(bins(t), "mcptray-bridge"), "--no-start", "up")
	cmd.Env = f.env()
	cmd.Stdin = strings.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bridge: %v\n%s", err, stderr.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.ID != nil {
			got[string(m.ID)] = string(m.Result)
		}
	}
	for id, want := range map[string]string{"1": `"protocolVersion"`, "2": `"echo"`, "3": `slept 1.5s`, "4": `piped`} {
		if !strings.Contains(got[id], want) {
			t.Errorf("answer to %s lacks %s: %q", id, want, got[id])
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
}

// TestConfigReload: edits are picked up without a restart; only changed
// servers are rebuilt; a bad edit keeps the running config.
func TestConfigReload(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"a": urlEntry(srv.URL())})
	f.waitState("a", mcpclient.StateConnected, 5*time.Second)
	writeConfig(t, f.cfgPath, map[string]string{"a": urlEntry(srv.URL()), "b": urlEntry(srv.URL())})
	waitFor(t, "server b added", func() bool { return hasServer(f, "b") })
	f.waitState("b", mcpclient.StateConnected, 5*time.Second)
	writeConfig(t, f.cfgPath, map[string]string{"a": urlEntry(srv.URL()), "b": `{"url": "` + srv.URL() + `", "headers": {"X-Team": "blue"}}`})
	waitFor(t, "server b rebuilt", func() bool { return f.status("b").SessionsOpened == 2 })
	f.waitState("b", mcpclient.StateConnected, 5*time.Second)
	if n := f.status("a").SessionsOpened; n != 1 {
		t.Errorf("unchanged server a was rebuilt (%d sessions)", n)
	}
	if err := os.WriteFile(f.cfgPath, []byte(`{"mcpServers": {"a": {"url": "ftp://x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "config error reported", func() bool { return f.hub.ConfigError() != "" })
	if e := f.hub.ConfigError(); !strings.Contains(e, f.cfgPath) || !strings.Contains(e, `"a"`) || !strings.Contains(e, `"url"`) {
		t.Errorf("config error does not name file, server and field: %s", e)
	}
	if !hasServer(f, "b") || f.status("a").State != mcpclient.StateConnected {
		t.Error("a bad edit changed the running servers")
	}
	writeConfig(t, f.cfgPath, map[string]string{"a": urlEntry(srv.URL())})
	waitFor(t, "server b removed", func() bool { return !hasServer(f, "b") })
	if f.hub.ConfigError() != "" {
		t.Errorf("config error not cleared: %s", f.hub.ConfigError())
	}
}

func hasServer(f *hubFixture, name string) bool {
	for _, s := range f.hub.Snapshot(false) {
		if s.Name == name {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigErrors: a broken config stops the hub from starting, with the
// file, server and field in the message; a missing one is created.
func TestConfigErrors(t *testing.T) {
	h := newRealHome(t, map[string]string{"x": `{"url": "https://example.invalid/mcp", "transport": "websocket"}`})
	_, errOut, code := h.run(t, "serve")
	if code != 1 || !strings.Contains(errOut, h.cfg) || !strings.Contains(errOut, `server "x"`) || !strings.Contains(errOut, `field "transport"`) {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	os.Remove(h.cfg)
	cfg, err := config.Load(h.cfg)
	if err != nil || len(cfg.Servers) != 0 {
		t.Fatalf("missing config: %v %+v", err, cfg)
	}
	if b, _ := os.ReadFile(h.cfg); !bytes.Contains(b, []byte(`"mcpServers"`)) {
		t.Errorf("created config: %s", b)
	}
}

// TestEnvInConfig: ${env:VAR} in url and headers; an unset variable fails
// that server with a message naming it.
func TestEnvInConfig(t *testing.T) {
	var got atomic.Value
	srv := startFault(t, fs.Options{})
	proxy := frontProxy(srv)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("X-Team"))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("MT_TEST_BASE", front.URL)
	t.Setenv("MT_TEST_TEAM", "blue")
	f := startHub(t, map[string]string{
		"ok":      `{"url": "${env:MT_TEST_BASE}/mcp", "headers": {"X-Team": "team-${env:MT_TEST_TEAM}"}}`,
		"missing": `{"url": "${env:MT_TEST_UNSET_VAR}/mcp"}`,
	})
	f.waitState("ok", mcpclient.StateConnected, 5*time.Second)
	if got.Load() != "team-blue" {
		t.Errorf("header = %v", got.Load())
	}
	st := f.waitState("missing", mcpclient.StateFailed, 5*time.Second)
	if !strings.Contains(st.LastError, "MT_TEST_UNSET_VAR") {
		t.Errorf("last error: %s", st.LastError)
	}
	c := launchBridge(t, f.env(), "missing", "--no-start")
	c.initialize(nil)
	r := c.call("tools/list", nil)
	if r.Error == nil || !strings.Contains(r.Error.Message, "MT_TEST_UNSET_VAR") {
		t.Errorf("IDE error: %s", r.raw)
	}
}

// TestCookieJar: affinity cookies round-trip, survive a rebuild and expire
// as the server says.
func TestCookieJar(t *testing.T) {
	srv := startFault(t, fs.Options{})
	proxy := frontProxy(srv)
	var mu sync.Mutex
	var seen []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ck string
		if c, err := r.Cookie("affinity"); err == nil {
			ck = c.Value
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+ck)
		n := len(seen)
		mu.Unlock()
		if n == 1 {
			http.SetCookie(w, &http.Cookie{Name: "affinity", Value: "node-7", Path: "/", MaxAge: 2})
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	f := startHub(t, map[string]string{"up": urlEntry(front.URL + "/mcp")})
	f.waitState("up", mcpclient.StateConnected, 5*time.Second)
	if err := f.hub.Reconnect("up", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rebuild", func() bool { return f.status("up").SessionsOpened == 2 })
	mu.Lock()
	with := 0
	for _, s := range seen[1:] {
		if strings.HasSuffix(s, " node-7") {
			with++
		}
	}
	mu.Unlock()
	if with < 2 {
		t.Errorf("the cookie did not round-trip across the rebuild: %v", seen)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := f.hub.Call(context.Background(), "up", "tools/list", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	last := seen[len(seen)-1]
	mu.Unlock()
	if strings.HasSuffix(last, "node-7") {
		t.Errorf("an expired cookie was sent: %q", last)
	}
}

// TestHeldDuringBackoff: requests made while the upstream backs off from
// 503s are held and answered once it is back.
func TestHeldDuringBackoff(t *testing.T) {
	srv := startFault(t, fs.Options{})
	var failing atomic.Bool
	failing.Store(true)
	proxy := frontProxy(srv)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "upstream maintenance", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	f := startHub(t, map[string]string{"up": urlEntry(front.URL + "/mcp")})
	st := f.waitState("up", mcpclient.StateBackoff, 5*time.Second)
	if !strings.Contains(st.LastError, "503") || st.NextAttempt.IsZero() {
		t.Errorf("backoff status: %+v", st)
	}
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	_, ch := c.start("tools/call", echoArgs("held"))
	time.Sleep(300 * time.Millisecond)
	failing.Store(false)
	r := c.wait(ch, "held call", 20*time.Second)
	if r.Error != nil {
		t.Fatalf("held call failed: %s", r.raw)
	}
	c.waitNote("notifications/tools/list_changed", nil, 5*time.Second)
}

// TestNeedsLogin: a 401 puts the server in needs_login and IDE calls get
// an error that says how to sign in.
func TestNeedsLogin(t *testing.T) {
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(front.Close)
	f := startHub(t, map[string]string{"jira": urlEntry(front.URL + "/mcp")})
	f.waitState("jira", mcpclient.StateNeedsLogin, 5*time.Second)
	c := launchBridge(t, f.env(), "jira", "--no-start")
	init := c.initialize(nil)
	if !bytes.Contains(init, []byte(`"listChanged":true`)) {
		t.Errorf("initialize while needing login: %s", init)
	}
	r := c.call("tools/list", nil)
	if r.Error == nil || r.Error.Code != jsonrpc.CodeNeedsLogin || !strings.Contains(r.Error.Message, "mcptray login jira") {
		t.Fatalf("want a needs-login error, got %s", r.raw)
	}
}

// TestControlCLI drives the real `mcptray` control commands.
func TestControlCLI(t *testing.T) {
	srv := startFault(t, fs.Options{})
	h := newRealHome(t, map[string]string{"up": urlEntry(srv.URL())})
	if _, errOut, code := h.run(t, "status"); code != 1 || !strings.Contains(errOut, "no hub is running") {
		t.Errorf("status without a hub: %d %q", code, errOut)
	}
	serve := exec.Command(filepath.Join(bins(t), "mcptray"), "serve")
	serve.Env = h.env()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Signal(syscall.SIGTERM); _ = serve.Wait() })
	waitFor(t, "hub up", func() bool {
		out, _, code := h.run(t, "status")
		return code == 0 && strings.Contains(out, "connected")
	})
	out, _, _ := h.run(t, "status")
	for _, want := range []string{"SERVER", "up", "connected", "streamable-http", "2025-11-25"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, code := h.run(t, "status", "--json")
	var st struct {
		Hub     ipc.HubInfo
		Servers []mcpclient.ServerStatus
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || len(st.Servers) != 1 || st.Servers[0].Tools == 0 {
		t.Errorf("status --json: %v %s", err, out)
	}
	if out, _, code := h.run(t, "tools", "up"); code != 0 || !strings.Contains(out, "echo") {
		t.Errorf("tools: %d %s", code, out)
	}
	if out, _, code := h.run(t, "call", "up", "echo", `{"text":"from the cli"}`); code != 0 || !strings.Contains(out, "from the cli") {
		t.Errorf("call: %d %s", code, out)
	}
	if _, errOut, code := h.run(t, "call", "up", "echo", `not json`); code != 2 || !strings.Contains(errOut, "JSON object") {
		t.Errorf("call with bad args: %d %s", code, errOut)
	}
	if _, errOut, code := h.run(t, "reconnect", "nope"); code != 1 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("reconnect unknown: %d %s", code, errOut)
	}
	if out, _, code := h.run(t, "reconnect", "up"); code != 0 || !strings.Contains(out, "reconnecting up") {
		t.Errorf("reconnect: %d %s", code, out)
	}
	waitFor(t, "rebuild", func() bool { return srv.Stats().SessionsOpened == 2 })
	if _, _, code := h.run(t, "reconnect", "--all"); code != 0 {
		t.Errorf("reconnect --all: %d", code)
	}
	waitFor(t, "rebuild all", func() bool { return srv.Stats().SessionsOpened == 3 })
	if _, _, code := h.run(t, "bogus"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}
