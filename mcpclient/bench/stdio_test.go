package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stdioProc is a child speaking MCP over stdio (newline-delimited JSON-RPC)
// and a small client for it: requests get increasing integer ids and each
// response is matched to its caller by id, so call may be used from many
// goroutines at once. Requests from the server are answered (ping) or
// refused; notifications are dropped.
type stdioProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer

	wmu sync.Mutex
	w   *bufio.Writer

	nextID  atomic.Int64
	mu      sync.Mutex
	pending map[string]chan rpcReply
	readErr error

	readDone chan struct{} // closed when stdout ends
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

type rpcReply struct {
	result json.RawMessage
	err    error
}

// startStdio starts cmd with its stdio wired to a new client.
func startStdio(cmd *exec.Cmd) (*stdioProc, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &stdioProc{
		cmd: cmd, stdin: stdin, stderr: &tailBuffer{},
		w:        bufio.NewWriterSize(stdin, 64<<10),
		pending:  map[string]chan rpcReply{},
		readDone: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go p.read(stdout)
	go func() {
		<-p.readDone // Wait closes stdout: read it to the end first
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// incoming is any message from the child.
type incoming struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

func (p *stdioProc) read(stdout io.Reader) {
	defer close(p.readDone)
	r := bufio.NewReaderSize(stdout, 256<<10)
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			p.dispatch(line)
		}
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the process closed its stdout")
	}
	p.mu.Lock()
	p.readErr = err
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, ch := range pending {
		ch <- rpcReply{err: err}
	}
}

func (p *stdioProc) dispatch(line []byte) {
	var m incoming
	if json.Unmarshal(line, &m) != nil {
		return // not JSON-RPC: a stray log line
	}
	hasID := len(m.ID) > 0 && string(m.ID) != "null"
	switch {
	case m.Method != "" && hasID: // a request from the server
		if m.Method == "ping" {
			_ = p.writeLine([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{}}`))
		} else {
			_ = p.writeLine([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) +
				`,"error":{"code":-32601,"message":"not supported by the benchmark client"}}`))
		}
	case m.Method == "" && hasID: // a response
		p.mu.Lock()
		ch := p.pending[string(m.ID)]
		delete(p.pending, string(m.ID))
		p.mu.Unlock()
		if ch == nil {
			return
		}
		if m.Error != nil {
			ch <- rpcReply{err: m.Error}
		} else {
			ch <- rpcReply{result: m.Result}
		}
	}
}

func (p *stdioProc) writeLine(line []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.w.Write(line); err != nil {
		return err
	}
	if err := p.w.WriteByte('\n'); err != nil {
		return err
	}
	return p.w.Flush()
}

// call sends a request and waits for its response's result.
func (p *stdioProc) call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	id := strconv.FormatInt(p.nextID.Add(1), 10)
	ch := make(chan rpcReply, 1)
	p.mu.Lock()
	if p.pending == nil {
		err := p.readErr
		p.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	p.pending[id] = ch
	p.mu.Unlock()
	line := make([]byte, 0, 64+len(method)+len(params))
	line = append(line, `{"jsonrpc":"2.0","id":`...)
	line = append(line, id...)
	line = append(line, `,"method":`...)
	line = strconv.AppendQuote(line, method)
	if len(params) > 0 {
		line = append(line, `,"params":`...)
		line = append(line, params...)
	}
	line = append(line, '}')
	if err := p.writeLine(line); err != nil {
		p.forget(id)
		return nil, fmt.Errorf("%s: write: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", method, r.err)
		}
		return r.result, nil
	case <-ctx.Done():
		p.forget(id)
		return nil, fmt.Errorf("%s: %w (stderr: %s)", method, ctx.Err(), p.stderrTail())
	}
}

func (p *stdioProc) forget(id string) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

// notify sends a notification.
func (p *stdioProc) notify(method string) error {
	return p.writeLine([]byte(`{"jsonrpc":"2.0","method":` + strconv.Quote(method) + `}`))
}

var initializeParams = json.RawMessage(`{"protocolVersion":"2025-11-25","capabilities":{},` +
	`"clientInfo":{"name":"mcptray-bench","version":"0"}}`)

// initialize sends the initialize request and waits for its answer only.
func (p *stdioProc) initialize(ctx context.Context) error {
	res, err := p.call(ctx, "initialize", initializeParams)
	if err != nil {
		return err
	}
	if !bytes.Contains(res, []byte(`"protocolVersion"`)) {
		return fmt.Errorf("initialize: unexpected result %s", res)
	}
	return nil
}

// handshake runs initialize, then notifications/initialized (only after the
// answer: mcp-remote forwards stdin at once, before its upstream session
// exists), then tools/list, and returns the number of tools.
func (p *stdioProc) handshake(ctx context.Context) (int, error) {
	if err := p.initialize(ctx); err != nil {
		return 0, err
	}
	return p.initialized(ctx)
}

// initialized completes a handshake after initialize was answered.
func (p *stdioProc) initialized(ctx context.Context) (int, error) {
	if err := p.notify("notifications/initialized"); err != nil {
		return 0, err
	}
	res, err := p.call(ctx, "tools/list", nil)
	if err != nil {
		return 0, err
	}
	var tl struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(res, &tl); err != nil || len(tl.Tools) == 0 {
		return 0, fmt.Errorf("tools/list: unexpected result %.200s", res)
	}
	return len(tl.Tools), nil
}

var echoParams = json.RawMessage(`{"name":"echo","arguments":{"message":"` + echoMessage + `"}}`)

func (p *stdioProc) callEcho(ctx context.Context) error {
	res, err := p.call(ctx, "tools/call", echoParams)
	if err != nil {
		return err
	}
	if !bytes.Contains(res, echoWant) || bytes.Contains(res, []byte(`"isError":true`)) {
		return fmt.Errorf("unexpected echo answer %.300s", res)
	}
	return nil
}

func (p *stdioProc) pid() int { return p.cmd.Process.Pid }

func (p *stdioProc) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// shutdown closes stdin, as an IDE does, and waits up to grace for the
// process to exit; then it sends SIGTERM, and SIGKILL two seconds later. It
// reports whether the process exited on its own after stdin closed.
func (p *stdioProc) shutdown(grace time.Duration) (exitedOnEOF bool) {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
		return true
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return false
	case <-time.After(2 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second): // a grandchild holds stdout open: give up on it
	}
	return false
}

func (p *stdioProc) close() { p.shutdown(2 * time.Second) }

// procCPU returns the CPU time (user + system) a process used so far, from
// /proc/PID/stat (Linux; clock ticks of 10 ms, USER_HZ = 100).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// procStatusKB reads a "Vm…:   N kB" field of /proc/PID/status (Linux).
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}
