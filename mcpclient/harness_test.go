package mcpclient_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// ---- binaries ---------------------------------------------------------------

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// bins builds the real mcptray and mcptray-bridge once per test run.
func bins(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcptray-bin-")
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "github.com/mcptray/mcptray/cmd/mcptray", "github.com/mcptray/mcptray/cmd/mcptray-bridge")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ---- hub fixture ------------------------------------------------------------

// logWriter sends hub logs to the test log.
type logWriter struct {
	mu sync.Mutex
	t  testing.TB
	on bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

type hubFixture struct {
	t       testing.TB
	home    string
	cfgPath string
	hub     *mcpclient.Hub
	cancel  context.CancelFunc
	done    chan error
	logw    *logWriter
	// logCopy, when set, gets the hub's log too (for tests that read it).
	logCopy io.Writer

	tuning mcpclient.Tuning

	mu      sync.Mutex
	browsed []string // URLs the hub opened in the "browser"
}

// fastTuning keeps the supervisor quick in tests.
var fastTuning = mcpclient.Tuning{
	HoldTimeout:      15 * time.Second,
	ConnectTimeout:   5 * time.Second,
	ProbeInterval:    500 * time.Millisecond,
	ProbeTimeout:     1 * time.Second,
	FirstConnectWait: 3 * time.Second,
	Backoff:          mcpclient.Backoff{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond, Jitter: 0.2},
}

// writeConfig writes a config with the given name → server entry JSON.
func writeConfig(t testing.TB, path string, servers map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("{\n  \"mcpServers\": {")
	first := true
	for name, entry := range servers {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "\n    %q: %s", name, entry)
	}
	b.WriteString("\n  }\n}\n")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func urlEntry(url string) string { return fmt.Sprintf(`{"url": %q}`, url) }

// shortTemp is a temp dir with a short path (unix socket paths are short).
func shortTemp(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "mt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startHub runs an in-process hub (so -race sees it) on a fresh home.
func startHub(t testing.TB, servers map[string]string) *hubFixture {
	t.Helper()
	return startHubTuned(t, servers, fastTuning)
}

// startHubTuned is startHub with other supervisor timings.
func startHubTuned(t testing.TB, servers map[string]string, tuning mcpclient.Tuning) *hubFixture {
	t.Helper()
	dir := shortTemp(t)
	f := &hubFixture{t: t, home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "config.json"), done: make(chan error, 1), tuning: tuning}
	writeConfig(t, f.cfgPath, servers)
	f.start()
	t.Cleanup(f.stop)
	return f
}

// logSink is where the hub under test logs.
func (f *hubFixture) logSink() io.Writer {
	if f.logCopy != nil {
		return io.MultiWriter(f.logw, f.logCopy)
	}
	return f.logw
}

func (f *hubFixture) start() {
	f.t.Helper()
	f.logw = &logWriter{t: f.t, on: testing.Verbose()}
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{
		ConfigPath: f.cfgPath, Home: f.home, Tuning: f.tuning, ReloadInterval: 50 * time.Millisecond,
		CredentialStore: auth.NewFileStore(paths.Credentials(f.home)),
		OpenBrowser: func(ctx context.Context, url string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.browsed = append(f.browsed, url)
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(f.logSink(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.hub = hub
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.done = make(chan error, 1)
	go func() { f.done <- hub.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, c := context.WithTimeout(context.Background(), time.Second)
		_, err := ipc.Request(ctx, hub.Socket(), ipc.Hello{Op: ipc.OpPing})
		c()
		if err == nil {
			return
		}
		select {
		case err := <-f.done:
			f.t.Fatalf("hub exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("hub did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *hubFixture) stop() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	select {
	case <-f.done:
	case <-time.After(15 * time.Second):
		f.t.Error("hub did not stop within 15 s")
	}
	f.logw.mu.Lock()
	f.logw.on = false
	f.logw.mu.Unlock()
	f.cancel = nil
}

func (f *hubFixture) env() []string {
	return append(os.Environ(), "MCPTRAY_HOME="+f.home, "MCPTRAY_CONFIG="+f.cfgPath)
}

// status returns one server's status.
func (f *hubFixture) status(name string) mcpclient.ServerStatus {
	for _, s := range f.hub.Snapshot(true) {
		if s.Name == name {
			return s
		}
	}
	f.t.Fatalf("no server %q in the snapshot", name)
	return mcpclient.ServerStatus{}
}

// waitState waits until the server is in state st.
func (f *hubFixture) waitState(name string, st mcpclient.State, within time.Duration) mcpclient.ServerStatus {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := f.status(name)
		if s.State == st {
			return s
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("server %s: state %s (%s), want %s", name, s.State, s.LastError, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- a fake IDE driving the real bridge binary -----------------------------

type rpcResp struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	raw    []byte
}

type ide struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *bytes.Buffer
	exited chan struct{}

	mu       sync.Mutex
	nextID   int
	pending  map[string]chan *rpcResp
	notes    []*rpcResp
	noteCh   chan struct{}
	onServer func(*rpcResp) any // answers server→client requests
	fromHub  []*rpcResp         // every server→client request seen
	writeMu  sync.Mutex
}

type syncBuf struct {
	mu sync.Mutex
	bytes.Buffer
}

// launchBridge starts the real mcptray-bridge binary as an IDE would.
func launchBridge(t testing.TB, env []string, name string, args ...string) *ide {
	t.Helper()
	bin := filepath.Join(bins(t), "mcptray-bridge")
	cmd := exec.Command(bin, append(args, name)...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &ide{t: t, cmd: cmd, stdin: stdin, stderr: &bytes.Buffer{}, exited: make(chan struct{}),
		pending: map[string]chan *rpcResp{}, noteCh: make(chan struct{}, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			c.mu.Lock()
			c.stderr.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				c.dispatch(line)
			}
			if err != nil {
				break
			}
		}
		_ = cmd.Wait()
		pw.Close()
		<-stderrDone
		close(c.exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("bridge stderr:\n%s", c.stderrText())
		}
	})
	return c
}

func (c *ide) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

func (c *ide) dispatch(line []byte) {
	var m rpcResp
	if err := json.Unmarshal(line, &m); err != nil {
		c.t.Errorf("bridge wrote a line that is not JSON: %q", line)
		return
	}
	m.raw = append([]byte(nil), line...)
	hasID := len(m.ID) > 0 && string(m.ID) != "null"
	switch {
	case m.Method != "" && hasID:
		c.mu.Lock()
		h := c.onServer
		c.fromHub = append(c.fromHub, &m)
		c.mu.Unlock()
		go func() {
			var reply []byte
			if h == nil {
				reply, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": map[string]any{"code": -32601, "message": "no handler"}})
			} else {
				reply, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": h(&m)})
			}
			c.send(reply)
		}()
	case m.Method != "":
		c.mu.Lock()
		c.notes = append(c.notes, &m)
		c.mu.Unlock()
		select {
		case c.noteCh <- struct{}{}:
		default:
		}
	default:
		c.mu.Lock()
		ch := c.pending[string(m.ID)]
		delete(c.pending, string(m.ID))
		c.mu.Unlock()
		if ch == nil {
			if hasID {
				c.t.Errorf("response for an unknown id %s: %s", m.ID, line)
			} else {
				c.mu.Lock()
				c.notes = append(c.notes, &m) // id-less errors (parse errors)
				c.mu.Unlock()
				select {
				case c.noteCh <- struct{}{}:
				default:
				}
			}
			return
		}
		ch <- &m
	}
}

func (c *ide) send(line []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, _ = c.stdin.Write(append(line, '\n'))
}

// start sends a request and returns a channel for its response.
func (c *ide) start(method string, params any) (string, <-chan *rpcResp) {
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	ch := make(chan *rpcResp, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	c.send(b)
	return id, ch
}

func (c *ide) wait(ch <-chan *rpcResp, what string, within time.Duration) *rpcResp {
	c.t.Helper()
	select {
	case r := <-ch:
		return r
	case <-c.exited:
		select {
		case r := <-ch: // answered just before the exit
			return r
		default:
		}
		c.t.Fatalf("%s: the bridge exited; stderr:\n%s", what, c.stderrText())
	case <-time.After(within):
		c.t.Fatalf("%s: no answer within %s; bridge stderr:\n%s", what, within, c.stderrText())
	}
	return nil
}

// call sends a request and waits for its response.
func (c *ide) call(method string, params any) *rpcResp {
	c.t.Helper()
	_, ch := c.start(method, params)
	return c.wait(ch, method, 30*time.Second)
}

// ok calls and fails the test on a JSON-RPC error.
func (c *ide) ok(method string, params any) json.RawMessage {
	c.t.Helper()
	r := c.call(method, params)
	if r.Error != nil {
		c.t.Fatalf("%s: error %d %s", method, r.Error.Code, r.Error.Message)
	}
	return r.Result
}

func (c *ide) notify(method string, params any) {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	c.send(b)
}

// initialize does the MCP handshake with the given client capabilities.
func (c *ide) initialize(caps map[string]any) json.RawMessage {
	c.t.Helper()
	if caps == nil {
		caps = map[string]any{}
	}
	res := c.ok("initialize", map[string]any{
		"protocolVersion": "2025-06-18", "capabilities": caps,
		"clientInfo": map[string]any{"name": "test-ide", "version": "1.0"},
	})
	c.notify("notifications/initialized", nil)
	return res
}

// waitNote waits for a notification with the method (and predicate).
func (c *ide) waitNote(method string, pred func(*rpcResp) bool, within time.Duration) *rpcResp {
	c.t.Helper()
	deadline := time.After(within)
	for {
		c.mu.Lock()
		for i, n := range c.notes {
			if n.Method == method && (pred == nil || pred(n)) {
				c.notes = append(c.notes[:i:i], c.notes[i+1:]...)
				c.mu.Unlock()
				return n
			}
		}
		c.mu.Unlock()
		select {
		case <-c.noteCh:
		case <-deadline:
			c.t.Fatalf("no %s notification within %s", method, within)
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *ide) toolText(r json.RawMessage) string {
	var v struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(r, &v); err != nil {
		c.t.Fatalf("bad tool result %s", r)
	}
	var s []string
	for _, x := range v.Content {
		s = append(s, x.Text)
	}
	if v.IsError {
		return "ERROR: " + strings.Join(s, "\n")
	}
	return strings.Join(s, "\n")
}
