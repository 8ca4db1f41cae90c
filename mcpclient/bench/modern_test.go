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
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// The modern-era rows (MCP 2026-07-28): the same echo calls against a
// modern-only server (the fault server's mcp-go server in its modern era,
// no faults armed), from a direct mcp-go client speaking 2026-07-28 (the
// floor) and through mcptray-bridge with a warm hub, from a legacy IDE
// (initialize; the hub translates) and from a modern IDE (_meta on every
// request). No Node needed.

// Targets of the modern rows.
const (
	targetModernDirect       = "modern-direct"
	targetModernBridge       = "modern-bridge"            // a legacy IDE
	targetModernBridgeModIDE = "modern-bridge-modern-ide" // a modern IDE
)

// modernServerName is the modern server's name in its hub's config.
const modernServerName = "mod"

const modernEchoText = "hello from mcptray modern bench"

var (
	modernEchoLegacy = json.RawMessage(`{"name":"echo","arguments":{"text":"` + modernEchoText + `"}}`)
	modernEchoModern = json.RawMessage(`{"name":"echo","arguments":{"text":"` + modernEchoText + `"},"_meta":` + modernIDEMeta + `}`)
	modernEchoWant   = []byte(`"text":"` + modernEchoText + `"`)
)

const modernIDEMeta = `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcptray-bench","version":"0"}}`

// modernShared is the modern rows' environment: the server, a warm hub
// and the sessions, set up on first use.
var modernShared modernEnv

type modernEnv struct {
	once    sync.Once
	tb      *envTB
	failMsg string

	srv       *fs.Server
	bridgeBin string
	home      string
	config    string

	mu       sync.Mutex
	sessions map[string]caller
}

func (e *modernEnv) get(b *testing.B) *modernEnv {
	b.Helper()
	e.once.Do(func() {
		e.tb = &envTB{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.setup()
		}()
		<-done
		_, e.failMsg = e.tb.outcome()
	})
	if e.failMsg != "" {
		b.Fatal(e.failMsg)
	}
	return e
}

func (e *modernEnv) setup() {
	t := e.tb
	srv, err := fs.Start(fs.Options{Era: fs.EraModern})
	if err != nil {
		t.Fatalf("modern server: %v", err)
	}
	e.srv = srv
	t.Cleanup(srv.Close)
	e.bridgeBin, _ = buildBinaries(t, t.TempDir())
	e.home = t.TempDir()
	e.config = filepath.Join(t.TempDir(), "config.json")
	writeConfig(t, e.config, map[string]string{modernServerName: srv.URL()}, testenv.FreePort(t))
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: e.config, Home: e.home})
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "bench: the modern hub did not stop within 10s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := hub.Snapshot(false)
		if len(st) == 1 && st[0].State == mcpclient.StateConnected {
			if st[0].ProtocolVersion != fs.ModernVersion {
				t.Fatalf("the hub speaks %q to the modern server", st[0].ProtocolVersion)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not connect to the modern server within 30s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.sessions = map[string]caller{}
}

func (e *modernEnv) close() {
	if e.tb == nil {
		return
	}
	e.mu.Lock()
	for _, s := range e.sessions {
		s.close()
	}
	e.sessions = nil
	e.mu.Unlock()
	e.tb.runCleanups()
}

// session returns target's long-lived session, warmed up.
func (e *modernEnv) session(b *testing.B, target string) caller {
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
	case targetModernDirect:
		s, err = newModernDirect(ctx, e.srv.URL())
	case targetModernBridge, targetModernBridgeModIDE:
		cmd := exec.Command(e.bridgeBin, "--no-start", modernServerName)
		cmd.Env = append(os.Environ(), "MCPTRAY_HOME="+e.home, "MCPTRAY_CONFIG="+e.config)
		var p *stdioProc
		if p, err = startStdio(cmd); err != nil {
			break
		}
		if target == targetModernBridge {
			s = stdioEcho{p, modernEchoLegacy}
			_, err = p.handshake(ctx)
		} else {
			s = stdioEcho{p, modernEchoModern}
			_, err = p.call(ctx, "server/discover", json.RawMessage(`{"_meta":`+modernIDEMeta+`}`))
		}
		if err != nil {
			err = fmt.Errorf("%w; stderr: %s", err, p.stderrTail())
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

// stdioEcho calls the modern server's echo through a stdio process with
// the params of one IDE era.
type stdioEcho struct {
	p      *stdioProc
	params json.RawMessage
}

func (s stdioEcho) callEcho(ctx context.Context) error {
	res, err := s.p.call(ctx, "tools/call", s.params)
	if err != nil {
		return err
	}
	if !bytes.Contains(res, modernEchoWant) || bytes.Contains(res, []byte(`"isError":true`)) {
		return fmt.Errorf("unexpected echo answer %.300s", res)
	}
	return nil
}

func (s stdioEcho) close() { s.p.close() }

// modernDirect is mcp-go's client speaking 2026-07-28 (it probes with
// server/discover) straight to the server.
type modernDirect struct{ c *client.Client }

func newModernDirect(ctx context.Context, url string) (*modernDirect, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 128
	t, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(&http.Client{Transport: tr}))
	if err != nil {
		return nil, err
	}
	c := client.NewClient(t)
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "mcptray-bench-direct", Version: "0"}
	if _, err := c.Initialize(ctx, req); err != nil {
		c.Close()
		return nil, err
	}
	if v := c.ProtocolVersion(); v != fs.ModernVersion {
		c.Close()
		return nil, fmt.Errorf("the direct client speaks %q, want %s", v, fs.ModernVersion)
	}
	return &modernDirect{c: c}, nil
}

func (d *modernDirect) callEcho(ctx context.Context) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"text": modernEchoText}
	res, err := d.c.CallTool(ctx, req)
	if err != nil {
		return err
	}
	if res.IsError || len(res.Content) == 0 {
		return fmt.Errorf("echo failed: %+v", res)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != modernEchoText {
		return fmt.Errorf("unexpected echo answer %+v", res.Content[0])
	}
	return nil
}

func (d *modernDirect) close() { _ = d.c.Close() }

var modernTargets = []string{targetModernDirect, targetModernBridge, targetModernBridgeModIDE}

// BenchmarkModernCallInterleaved makes one sequential echo call per
// modern target per iteration, in rotating order (see
// BenchmarkCallInterleaved): direct, the bridge with a legacy IDE, the
// bridge with a modern IDE. ns/op is the time of the three calls.
func BenchmarkModernCallInterleaved(b *testing.B) {
	env := modernShared.get(b)
	sessions := make([]caller, len(modernTargets))
	for i, t := range modernTargets {
		sessions[i] = env.session(b, t)
	}
	ctx := context.Background()
	lat := make([][]time.Duration, len(modernTargets))
	b.ResetTimer()
	for n := range b.N {
		for k := range modernTargets {
			i := (n + k) % len(modernTargets)
			start := time.Now()
			if err := sessions[i].callEcho(ctx); err != nil {
				b.Fatalf("%s: call %d: %v", modernTargets[i], n, err)
			}
			lat[i] = append(lat[i], time.Since(start))
		}
	}
	b.StopTimer()
	direct := us(percentile(lat[0], 50))
	for i, t := range modernTargets {
		p50 := us(percentile(lat[i], 50))
		b.ReportMetric(p50, t+"-p50-µs")
		if i > 0 {
			b.ReportMetric(p50-direct, t+"-added-p50-µs")
		}
	}
	record(rowModernInterleaved, targetDirect, direct)
	record(rowModernInterleaved, targetBridge, us(percentile(lat[1], 50)))
	record(rowModernInterleavedModIDE, targetBridge, us(percentile(lat[2], 50)))
}

// BenchmarkModernThroughput32 keeps 32 echo calls in flight on one
// session, direct and through the bridge (a legacy IDE), against the
// modern server.
func BenchmarkModernThroughput32(b *testing.B) {
	for _, target := range []string{targetModernDirect, targetModernBridge} {
		b.Run(target, func(b *testing.B) {
			env := modernShared.get(b)
			s := env.session(b, target)
			elapsed := callsInFlight(b, target, s)
			rate := float64(b.N) / elapsed.Seconds()
			b.ReportMetric(rate, "calls/s")
			col := targetDirect
			if target != targetModernDirect {
				col = targetBridge
			}
			record(rowModernThroughput, col, rate)
		})
	}
}
