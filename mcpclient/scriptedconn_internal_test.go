package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// This file holds what the admission and retry tests share: a scripted
// transport.Conn, and a stand-in for the supervisor that installs fresh
// sessions on one. The thing under test is the hub's decision logic
// (acquire, forward), so the Conn only answers as its script says.

// connScript decides every answer of every scriptedConn that shares it,
// across sessions, and records what was asked.
type connScript struct {
	// reply answers the n-th call (from 0, counted per method across
	// sessions) of method; a nil error and a nil message mean a plain
	// success.
	reply func(method string, n int) (*jsonrpc.Message, error)

	mu    sync.Mutex
	calls map[string][]time.Time // method → when each call came
	ids   map[string]int         // request id → how often it was sent
	conns []*scriptedConn
}

// reusedIDs counts the calls that repeated an earlier call's id.
func (sc *connScript) reusedIDs() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	n := 0
	for _, k := range sc.ids {
		n += k - 1
	}
	return n
}

func newConnScript(reply func(method string, n int) (*jsonrpc.Message, error)) *connScript {
	if reply == nil {
		reply = func(string, int) (*jsonrpc.Message, error) { return nil, nil }
	}
	return &connScript{reply: reply, calls: map[string][]time.Time{}, ids: map[string]int{}}
}

// count is how many calls of method were made.
func (sc *connScript) count(method string) int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.calls[method])
}

// times are when the calls of method were made.
func (sc *connScript) times(method string) []time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return append([]time.Time(nil), sc.calls[method]...)
}

// scriptedConn is a transport.Conn that answers from its script. Close
// breaks it with transport.ErrConnClosed, as the real ones do.
type scriptedConn struct {
	script *connScript
	id     int

	mu        sync.Mutex
	done      chan struct{}
	err       error
	sent      []string // methods of Send
	closeOnce sync.Once
}

var _ transport.Conn = (*scriptedConn)(nil)

func (c *scriptedConn) Call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.script.mu.Lock()
	n := len(c.script.calls[m.Method])
	c.script.calls[m.Method] = append(c.script.calls[m.Method], time.Now())
	c.script.ids[jsonrpc.IDKey(m.ID)]++
	c.script.mu.Unlock()
	c.mu.Lock()
	closed := c.err != nil
	c.mu.Unlock()
	if closed {
		return nil, transport.ErrConnClosed
	}
	resp, err := c.script.reply(m.Method, n)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = &jsonrpc.Message{JSONRPC: "2.0", Result: json.RawMessage(fmt.Sprintf(`{"answeredBy":%d}`, c.id))}
	}
	resp.ID = m.ID
	return resp, nil
}

func (c *scriptedConn) Send(ctx context.Context, m *jsonrpc.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m.Method)
	return nil
}

func (c *scriptedConn) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = transport.ErrConnClosed
		c.mu.Unlock()
		close(c.done)
	})
}

func (c *scriptedConn) Busy() int { return 0 }

func (c *scriptedConn) Idle() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

func (c *scriptedConn) Done() <-chan struct{} { return c.done }

func (c *scriptedConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *scriptedConn) SessionID() string           { return fmt.Sprintf("scripted-%d", c.id) }
func (c *scriptedConn) Transport() string           { return transport.Streamable }
func (c *scriptedConn) SetProtocolVersion(v string) {}

// newScriptedSession builds a session on a new scriptedConn of sc (not
// installed).
func newScriptedSession(sc *connScript) *session {
	sc.mu.Lock()
	c := &scriptedConn{script: sc, id: len(sc.conns) + 1, done: make(chan struct{})}
	sc.conns = append(sc.conns, c)
	sc.mu.Unlock()
	// Only the fields this test relies on; the rest keep their zero
	// values (no capabilities: install refreshes no lists).
	s := &session{conn: c, broken: transport.NewBroken()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// newTestUpstream is an upstream with no supervisor running: the test
// plays the supervisor. With no creds there is no OAuth, and no browser.
func newTestUpstream(tuning Tuning, limits config.Limits) *supervisor {
	return newSupervisor("srv", config.Server{URL: "http://127.0.0.1:1/mcp", Limits: limits}, globalSettings{}, supervisorDeps{tuning: tuning, noAutoLogin: true})
}

// rebuilder plays the supervisor's serve/rebuild loop: it installs a
// session and, whenever the current one is failed, uninstalls it and
// installs a fresh one on the same script.
type rebuilder struct {
	u      *supervisor
	script *connScript

	mu       sync.Mutex
	sessions []*session
}

// run installs sessions until ctx ends. Call it in a goroutine the test
// waits for.
func (r *rebuilder) run(ctx context.Context) {
	for {
		s := newScriptedSession(r.script)
		r.mu.Lock()
		r.sessions = append(r.sessions, s)
		r.mu.Unlock()
		r.u.install(s)
		select {
		case <-ctx.Done():
			r.u.uninstall(s, ctx.Err())
			return
		case <-s.broken.Done():
		}
		r.u.uninstall(s, s.broken.Err())
		r.u.setState(StateConnecting, "rebuilding", time.Time{})
	}
}

// failed is how many of the sessions built so far were failed.
func (r *rebuilder) failed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sessions {
		if s.broken.Err() != nil && !errors.Is(s.broken.Err(), context.Canceled) {
			n++
		}
	}
	return n
}

// request is a JSON-RPC request from an IDE, id 7.
func request(method string) *jsonrpc.Message {
	return &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("7"), Method: method, Params: json.RawMessage(`{"name":"x"}`)}
}

// answerCode parses forward's answer line: the error code, 0 for a result.
// It fails the test for an answer that is not to id 7.
func answerCode(t *testing.T, line []byte) (code int, msg string) {
	t.Helper()
	m, err := jsonrpc.Parse(line)
	if err != nil {
		t.Fatalf("answer %q: %v", line, err)
	}
	if string(m.ID) != "7" {
		t.Errorf("answer %s has id %s, want the IDE's 7", line, m.ID)
	}
	if m.Error == nil {
		return 0, ""
	}
	var e jsonrpc.Error
	if err := json.Unmarshal(m.Error, &e); err != nil {
		t.Fatalf("answer %s: %v", line, err)
	}
	return e.Code, e.Message
}
