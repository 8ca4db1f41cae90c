// Package bench measures mcptray against DESIGN.md's performance budget:
// a direct mcp-go client (the floor), mcp-remote (what IDEs use today) and
// mcptray-bridge attached to a warm hub, side by side against one shared
// server-everything over Streamable HTTP. It holds benchmarks only:
//
//	make build && go test -run '^$' -bench . -benchtime 2s ./mcpclient/bench/
//
// Every target reaches server-everything through a counting reverse proxy, so
// they share the same path and the upstream sessions each one opens and
// closes are counted. The benchmarks skip when Node 22 or the npm packages
// are missing, unless MCPTRAY_REQUIRE_REAL=1 (see testenv.Require). A
// Markdown summary of the figures is printed after the run.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/httptoken"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// Targets, as named in sub-benchmarks and the summary.
const (
	targetDirect = "direct"
	targetRemote = "mcp-remote"
	targetBridge = "bridge"
	// targetSocket is the hub's socket without the bridge process: a
	// diagnostic of BenchmarkCallInterleaved only.
	targetSocket = "socket"
	// targetHTTP is the hub's loopback HTTP endpoint, reached by the same
	// mcp-go client as direct (with the endpoint's token).
	targetHTTP = "http"
)

// serverName is the upstream's name in the hub's config.
const serverName = "ev"

func TestMain(m *testing.M) {
	code := m.Run()
	shared.close()
	modernShared.close()
	printSummary(os.Stdout)
	os.Exit(code)
}

// shared is the environment every benchmark of the run uses. It is set up on
// first use, so plain `go test` runs (no -bench) start nothing.
var shared benchEnv

// benchEnv is server-everything, the counting proxy in front of it, the
// binaries built from this module, a warm in-process hub, and one long-lived
// session per target for the per-call benchmarks.
type benchEnv struct {
	once    sync.Once
	tb      *envTB
	skipped bool   // setup skipped: a real dependency is missing
	failMsg string // why setup skipped or failed

	loadAtSetup string // 1-minute load average when setup began

	ev        *testenv.Everything
	proxy     *countingProxy
	bridgeBin string // mcptray-bridge built by setup
	hubBin    string // mcptray built by setup
	home      string // state dir of the in-process hub (hub.sock)
	config    string // its config: one server, serverName → proxy
	httpURL   string // the hub's endpoint for serverName
	httpToken string // and its token
	hubStop   context.CancelFunc
	hubDone   chan error

	mu       sync.Mutex
	sessions map[string]caller // long-lived session per target
}

// get sets the environment up once and returns it, skipping or failing b as
// setup did.
func (e *benchEnv) get(b *testing.B) *benchEnv {
	b.Helper()
	e.once.Do(func() {
		e.tb = &envTB{}
		done := make(chan struct{})
		go func() { // envTB's Fatal and Skip end this goroutine, as in a test
			defer close(done)
			e.setup()
		}()
		<-done
		e.skipped, e.failMsg = e.tb.outcome()
	})
	switch {
	case e.skipped:
		b.Skip(e.failMsg)
	case e.failMsg != "":
		b.Fatal(e.failMsg)
	}
	return e
}

func (e *benchEnv) setup() {
	t := e.tb
	e.loadAtSetup = loadAverage()
	// Check every real dependency up front: later helpers then cannot skip.
	testenv.Node22(t)
	_ = testenv.MCPRemoteCmd(t, "http://127.0.0.1:1/mcp") // checks the script exists
	e.ev = testenv.StartEverything(t, testenv.TransportStreamable, 0)

	p, err := startCountingProxy(e.ev.URL())
	if err != nil {
		t.Fatalf("counting proxy: %v", err)
	}
	e.proxy = p
	t.Cleanup(p.close)

	bins := t.TempDir()
	e.bridgeBin, e.hubBin = buildBinaries(t, bins)

	e.home = t.TempDir()
	e.config = filepath.Join(t.TempDir(), "config.json")
	writeConfig(t, e.config, map[string]string{serverName: p.URL()}, testenv.FreePort(t))
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: e.config, Home: e.home})
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.hubStop, e.hubDone = cancel, make(chan error, 1)
	go func() { e.hubDone <- hub.Run(ctx) }()
	// Warm: the hub has its upstream session before any bridge attaches.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := hub.Snapshot(false)
		if len(st) == 1 && st[0].State == mcpclient.StateConnected {
			break
		}
		select {
		case err := <-e.hubDone:
			t.Fatalf("the in-process hub stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the in-process hub did not connect to %s within 30s: %+v", p.URL(), st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hs := hub.HTTPStatus()
	if hs.URL == "" {
		t.Fatalf("the hub's HTTP endpoint is not serving: %s", hs.Error)
	}
	e.httpURL = hs.URL + "/" + serverName
	if e.httpToken, err = httptoken.Read(e.home); err != nil {
		t.Fatalf("the HTTP endpoint's token: %v", err)
	}
	e.sessions = map[string]caller{}
}

// close ends the sessions, the hub, the proxy and the server.
func (e *benchEnv) close() {
	if e.tb == nil {
		return
	}
	e.mu.Lock()
	for _, s := range e.sessions {
		s.close()
	}
	e.sessions = nil
	e.mu.Unlock()
	if e.hubStop != nil {
		e.hubStop()
		select {
		case <-e.hubDone:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "bench: the in-process hub did not stop within 10s")
		}
	}
	e.tb.runCleanups()
}

// session returns the long-lived session of target, started on first use
// and initialized, with a few calls made to warm it up.
func (e *benchEnv) session(b *testing.B, target string) caller {
	b.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sessions[target]; s != nil {
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var s caller
	var err error
	switch target {
	case targetDirect:
		var d *direct
		if d, err = newDirect(ctx, e.proxy.URL(), nil); err == nil {
			s = d
		}
	case targetHTTP:
		var d *direct
		if d, err = newDirect(ctx, e.httpURL, e.httpHeaders()); err == nil {
			s = d
		}
	case targetSocket:
		var ss *sockSession
		if ss, err = newSockSession(ctx, e.home); err == nil {
			s = ss
		}
	case targetRemote, targetBridge:
		var p *stdioProc
		p, err = startStdio(e.cmd(e.tb, target))
		if err == nil {
			s = p
			_, err = p.handshake(ctx)
		}
	default:
		err = fmt.Errorf("unknown target %q", target)
	}
	if err != nil {
		if s != nil {
			s.close()
		}
		b.Fatalf("%s: start a session: %v", target, err)
	}
	for range 20 {
		if err := s.callEcho(ctx); err != nil {
			s.close()
			b.Fatalf("%s: warm-up call: %v", target, err)
		}
	}
	e.sessions[target] = s
	return s
}

// cmd returns an unstarted stdio command for target (mcp-remote or bridge).
// The process is killed when t ends, if it still runs.
func (e *benchEnv) cmd(t testing.TB, target string) *exec.Cmd {
	t.Helper()
	if target == targetRemote {
		return testenv.MCPRemoteCmd(t, e.proxy.URL(), "--transport", "http-only", "--silent")
	}
	cmd := exec.Command(e.bridgeBin, "--no-start", serverName)
	cmd.Env = append(os.Environ(), "MCPTRAY_HOME="+e.home, "MCPTRAY_CONFIG="+e.config)
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	return cmd
}

// buildBinaries builds mcptray-bridge and mcptray from this module into dir,
// so the figures are those of the working tree, not of a stale bin/.
func buildBinaries(t testing.TB, dir string) (bridgeBin, hubBin string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/mcptray/mcptray/cmd/mcptray-bridge", "github.com/mcptray/mcptray/cmd/mcptray")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the binaries: %v\n%s", err, out)
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	return filepath.Join(dir, "mcptray-bridge"+exe), filepath.Join(dir, "mcptray"+exe)
}

// httpHeaders are what an IDE configured by `mcptray install --http` sends.
func (e *benchEnv) httpHeaders() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.httpToken}
}

// writeConfig writes an mcptray config with the given name → URL servers
// and the HTTP endpoint on httpPort.
func writeConfig(t testing.TB, path string, servers map[string]string, httpPort int) {
	t.Helper()
	type entry struct {
		URL string `json:"url"`
	}
	type httpCfg struct {
		Port int `json:"port"`
	}
	cfg := struct {
		HTTP       httpCfg          `json:"http"`
		MCPServers map[string]entry `json:"mcpServers"`
	}{HTTP: httpCfg{Port: httpPort}, MCPServers: map[string]entry{}}
	for name, url := range servers {
		cfg.MCPServers[name] = entry{URL: url}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// caller is one MCP session the benchmarks call tools through.
type caller interface {
	// callEcho calls the echo tool and checks the answer; it may be
	// called from many goroutines at once.
	callEcho(ctx context.Context) error
	close()
}

const echoMessage = "hello from mcptray bench"

// echoWant is in every correct echo answer.
var echoWant = []byte("Echo: " + echoMessage)

// direct is an in-process mcp-go client over Streamable HTTP.
type direct struct{ c *client.Client }

func newDirect(ctx context.Context, url string, headers map[string]string) (*direct, error) {
	// The same connection pool the hub's upstreams use (upstream.go), so the
	// floor is not limited by connection churn at 32 in flight.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 128
	t, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(&http.Client{Transport: tr}), transport.WithHTTPHeaders(headers))
	if err != nil {
		return nil, err
	}
	c := client.NewClient(t, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	req.Params.ClientInfo = mcp.Implementation{Name: "mcptray-bench-direct", Version: "0"}
	if _, err := c.Initialize(ctx, req); err != nil {
		c.Close()
		return nil, err
	}
	return &direct{c: c}, nil
}

func (d *direct) callEcho(ctx context.Context) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"message": echoMessage}
	res, err := d.c.CallTool(ctx, req)
	if err != nil {
		return err
	}
	if res.IsError || len(res.Content) == 0 {
		return fmt.Errorf("echo failed: %+v", res)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || !strings.Contains(tc.Text, string(echoWant)) {
		return fmt.Errorf("unexpected echo answer %+v", res.Content[0])
	}
	return nil
}

func (d *direct) close() { _ = d.c.Close() }

// envTB is the testing.TB of the shared environment, which outlives every
// benchmark: cleanups run in TestMain after m.Run. Fatal and Skip record why
// and end the calling goroutine, as testing does; setup runs in its own
// goroutine for that reason. It implements what testenv and this package
// use; other methods of the embedded nil TB panic.
type envTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
	msg      string
}

func (t *envTB) Helper()      {}
func (t *envTB) Name() string { return "bench-env" }

func (t *envTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *envTB) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

func (t *envTB) TempDir() string {
	dir, err := os.MkdirTemp("", "mcptray-bench-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *envTB) Log(args ...any) { fmt.Fprintln(os.Stderr, append([]any{"bench env:"}, args...)...) }
func (t *envTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench env: "+format+"\n", args...)
}

func (t *envTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *envTB) Skipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skipped
}

func (t *envTB) Error(args ...any)                 { t.fail(false, fmt.Sprintln(args...)) }
func (t *envTB) Errorf(format string, args ...any) { t.fail(false, fmt.Sprintf(format, args...)) }
func (t *envTB) Fail()                             { t.fail(false, "failed") }
func (t *envTB) FailNow()                          { t.fail(true, "failed") }
func (t *envTB) Fatal(args ...any)                 { t.fail(true, fmt.Sprintln(args...)) }
func (t *envTB) Fatalf(format string, args ...any) { t.fail(true, fmt.Sprintf(format, args...)) }
func (t *envTB) Skip(args ...any)                  { t.skip(fmt.Sprintln(args...)) }
func (t *envTB) Skipf(format string, args ...any)  { t.skip(fmt.Sprintf(format, args...)) }
func (t *envTB) SkipNow()                          { t.skip("skipped") }

func (t *envTB) fail(now bool, msg string) {
	t.mu.Lock()
	t.failed = true
	if t.msg == "" {
		t.msg = strings.TrimSpace(msg)
	}
	t.mu.Unlock()
	if now {
		runtime.Goexit()
	}
}

func (t *envTB) skip(msg string) {
	t.mu.Lock()
	t.skipped = true
	if t.msg == "" {
		t.msg = strings.TrimSpace(msg)
	}
	t.mu.Unlock()
	runtime.Goexit()
}

// outcome says whether setup skipped, and why it skipped or failed ("" when
// it succeeded).
func (t *envTB) outcome() (skipped bool, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failed && !t.skipped {
		return false, ""
	}
	return t.skipped && !t.failed, "bench env: " + t.msg
}

// tailBuffer keeps the last bytes written to it (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const tailMax = 64 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > tailMax {
		b.buf.Next(min(b.buf.Len(), b.buf.Len()+len(p)-tailMax/2))
	}
	return b.buf.Write(p)
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
