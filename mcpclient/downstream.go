package mcpclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// downstream is one IDE's MCP session, reached through a bridge on the
// hub's socket (or, without a socket, the HTTP endpoint). The hub plays
// the MCP server for it.
type downstream struct {
	up     *supervisor
	conn   net.Conn // the bridge's socket; nil when out is not a socket's
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	// out takes the lines to the IDE; for a socket it is queue, which
	// writeLoop drains into conn.
	out   ideWriter
	queue *lineQueue
	// closerDone is closed once the closer of conn (armed by open) ran;
	// stopCloser disarms it.
	stopCloser func() bool
	closerDone chan struct{}
	wg         sync.WaitGroup
	// slots bounds the IDE's requests the hub works on at once; the
	// reader waits for one, so an IDE that floods the hub (or does not
	// read its answers) is slowed down at its own socket.
	slots chan struct{}
	// maxMsg bounds one line from the IDE.
	maxMsg int64

	drops dropLog

	nextReq atomic.Int64

	// mu guards what the IDE declared and did; its requests in flight,
	// subscriptions and the server's requests to it are the router's.
	mu         sync.Mutex
	caps       map[string]json.RawMessage
	lastActive time.Time
	// initialized is set by a legacy initialize; modernSeen by a request
	// of the modern era; listens are the modern IDE's subscription
	// streams by request id (downstream_modern.go).
	capsRaw     json.RawMessage // caps, encoded for a modern server (capsJSON)
	initialized bool
	modernSeen  bool
	listens     map[string]*listenSub
}

// Bounds of one IDE's session: lines and bytes waiting for the IDE to
// read them, and its requests in progress in the hub.
const (
	outQueueLines = 4096
	outQueueBytes = 8 << 20
	dsMaxRequests = 256
)

// ideWriter takes the lines a downstream sends its IDE, each one framed
// JSON message without its newline. With wait it waits for room until
// ctx ends (false); without, it may drop the line when the IDE is behind
// (false).
type ideWriter interface {
	push(ctx context.Context, line []byte, wait bool) bool
}

func newDownstream(ctx context.Context, up *supervisor, conn net.Conn, log *slog.Logger) *downstream {
	q := newLineQueue(outQueueLines, outQueueBytes)
	d := newDownstreamTo(ctx, up, q, log)
	d.conn, d.queue = conn, q
	return d
}

// newDownstreamTo makes a downstream without a socket: its lines go to
// out, and its owner passes the IDE's lines to handle between open and
// close.
func newDownstreamTo(ctx context.Context, up *supervisor, out ideWriter, log *slog.Logger) *downstream {
	ctx, cancel := context.WithCancel(ctx)
	return &downstream{
		up: up, out: out, log: log, ctx: ctx, cancel: cancel,
		slots:  make(chan struct{}, dsMaxRequests),
		maxMsg: up.limits().MaxMessageSize,
		drops:  dropLog{msg: "IDE is not reading; dropped notifications"},
	}
}

// open attaches the session to its server and, for a socket, starts its
// writer and arms the closer that closes the socket when ctx ends.
func (d *downstream) open() {
	d.up.attach(d)
	if d.conn == nil {
		return
	}
	d.wg.Add(1)
	go d.writeLoop()
	d.closerDone = make(chan struct{})
	d.stopCloser = context.AfterFunc(d.ctx, func() { defer close(d.closerDone); d.conn.Close() })
}

// close ends the session: its requests in progress are cancelled and
// waited for, then it is detached from its server.
func (d *downstream) close() {
	d.cancel()
	d.wg.Wait()
	d.drops.flush(d.log)
	if d.conn != nil {
		d.conn.Close()
		if !d.stopCloser() {
			<-d.closerDone // close does not return before the closer
		}
	}
	d.up.detach(d)
}

// serve runs the session until the bridge disconnects or ctx ends.
func (d *downstream) serve(r *bufio.Reader) {
	d.open()
	defer d.close()
	for {
		line, err := jsonrpc.ReadLine(r, d.maxMsg)
		var tl *jsonrpc.TooLargeError
		if errors.As(err, &tl) {
			// Skip the line, answer it, keep the session.
			d.log.Warn("IDE sent a message over the size limit; skipped it", "limit", d.maxMsg)
			d.write(jsonrpc.EncodeError(tl.ID(), jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: the message is larger than the %s limit for server %q (maxMessageSize in the mcptray config); it was dropped", jsonrpc.FormatSize(d.maxMsg), d.up.name), nil))
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			d.handle(line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && d.ctx.Err() == nil {
				d.log.Debug("downstream read ended", "err", err)
			}
			break
		}
	}
}

func (d *downstream) writeLoop() {
	defer d.wg.Done()
	w := bufio.NewWriterSize(d.conn, 64<<10)
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.queue.ready:
		}
		var err error
		for _, line := range d.queue.take() {
			if _, err = w.Write(line); err == nil {
				err = w.WriteByte('\n')
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			d.cancel()
			return
		}
	}
}

// frame makes line one well-formed JSON line, or reports why it cannot.
// Every line to the IDE passes here: upstream bytes inside it (results,
// notifications) may be pretty-printed, and a newline in them would split
// the IDE's stream — or smuggle in a message of the server's making.
func (d *downstream) frame(line []byte) []byte {
	f, err := jsonrpc.Frame(line)
	if err != nil {
		d.log.Error("dropped a message to the IDE that is not well-formed JSON", "bytes", len(line))
		return nil
	}
	return f
}

// write queues a line, waiting while the IDE is slow.
func (d *downstream) write(line []byte) {
	if line == nil {
		return
	}
	if line = d.frame(line); line == nil {
		return
	}
	d.out.push(d.ctx, line, true)
}

// notify queues a notification; a downstream whose queue is full misses it
// rather than stalling the upstream for everyone.
func (d *downstream) notify(line []byte) {
	if line = d.frame(line); line == nil {
		return
	}
	if !d.out.push(d.ctx, line, false) && d.ctx.Err() == nil {
		d.drops.add(d.log)
	}
}

// dropLog logs dropped notifications once, with a count, instead of a
// line per drop: a stuck IDE can miss thousands a second.
type dropLog struct {
	msg    string // what was dropped, for the log
	mu     sync.Mutex
	n      int // dropped since the last log line
	total  int
	logged time.Time
}

// dropLogEvery is how often a stuck IDE's drops are summed up in the log.
const dropLogEvery = 10 * time.Second

func (l *dropLog) add(log *slog.Logger) {
	l.mu.Lock()
	l.n++
	l.total++
	if !l.logged.IsZero() && time.Since(l.logged) < dropLogEvery {
		l.mu.Unlock()
		return
	}
	n, total := l.n, l.total
	l.n, l.logged = 0, time.Now()
	l.mu.Unlock()
	log.Warn(l.msg, "dropped", n, "droppedTotal", total)
}

// flush logs drops not logged yet.
func (l *dropLog) flush(log *slog.Logger) {
	l.mu.Lock()
	n, total := l.n, l.total
	l.n = 0
	l.mu.Unlock()
	if n > 0 {
		log.Warn(l.msg, "dropped", n, "droppedTotal", total)
	}
}

func (d *downstream) handle(line []byte) {
	m, err := jsonrpc.Parse(line)
	if err != nil {
		switch {
		case errors.Is(err, jsonrpc.ErrBatch):
			d.write(jsonrpc.EncodeError(nil, jsonrpc.CodeInvalidRequest, "mcptray: "+err.Error(), nil))
		case errors.Is(err, jsonrpc.ErrNotJSONRPC):
			d.write(jsonrpc.EncodeError(idOf(line), jsonrpc.CodeInvalidRequest, "mcptray: invalid request: "+err.Error(), nil))
		default:
			d.write(jsonrpc.EncodeError(nil, jsonrpc.CodeParseError, "mcptray: parse error: the line is not valid JSON", nil))
		}
		return
	}
	switch {
	case m.Method != "" && len(m.ID) > 0 && !m.HasID():
		// MCP: a request id must be a string or an integer, never null.
		d.write(jsonrpc.EncodeError(nil, jsonrpc.CodeInvalidRequest, "mcptray: invalid request: the id must be a string or an integer, not null", nil))
	case m.IsRequest():
		d.mu.Lock()
		d.lastActive = time.Now()
		d.mu.Unlock()
		if v := modernVersionOf(m.Params); v != "" && !supportedLegacy(v) && d.handleModern(m, v) {
			return
		}
		switch m.Method {
		case "initialize":
			d.initialize(m)
		case "ping":
			d.write(jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil))
		default:
			fwd := d.up.forward
			switch m.Method {
			case "resources/subscribe":
				fwd = d.up.subscribe
			case "resources/unsubscribe":
				fwd = d.up.unsubscribe
			case "logging/setLevel":
				fwd = d.up.setLevel
			}
			select {
			case d.slots <- struct{}{}:
			case <-d.ctx.Done():
				return
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				defer func() { <-d.slots }()
				d.write(fwd(d.ctx, d, m))
			}()
		}
	case m.IsNotification():
		d.notification(m)
	case m.IsResponse():
		if sr := d.up.router.takeServerReq(d, jsonrpc.IDKey(m.ID)); sr != nil {
			sr.ch <- m
		}
	default:
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeInvalidRequest, "mcptray: invalid request", nil))
	}
}

// idOf digs the id out of a message that is JSON but not JSON-RPC.
func idOf(line []byte) json.RawMessage {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(line, &v)
	return v.ID
}

func (d *downstream) initialize(m *jsonrpc.Message) {
	var p struct {
		ProtocolVersion string                     `json:"protocolVersion"`
		Capabilities    map[string]json.RawMessage `json:"capabilities"`
		ClientInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"clientInfo"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeInvalidParams, "mcptray: initialize params are not valid: "+err.Error(), nil))
		return
	}
	d.mu.Lock()
	d.caps = p.Capabilities
	d.capsRaw = nil // capsJSON encodes them again
	d.initialized = true
	d.mu.Unlock()
	d.log.Info("IDE initialized", "client", p.ClientInfo.Name, "clientVersion", p.ClientInfo.Version, "protocol", p.ProtocolVersion)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.write(jsonrpc.EncodeResponse(m.ID, d.up.initializeResult(d.ctx, p.ProtocolVersion), nil))
	}()
}

func (d *downstream) notification(m *jsonrpc.Message) {
	switch m.Method {
	case "notifications/initialized":
		return
	case "notifications/cancelled":
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
			Reason    json.RawMessage `json:"reason"`
		}
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		if d.endListen(p.RequestID) {
			return
		}
		if c := d.up.router.byIDEID(d, p.RequestID); c != nil {
			d.up.cancelCall(c, p.Reason)
		}
		return
	}
	s := d.up.current()
	if s == nil {
		return
	}
	// Bounded like requests: a slot of this IDE's, then one of the
	// server's.
	select {
	case d.slots <- struct{}{}:
	case <-d.ctx.Done():
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer func() { <-d.slots }()
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		if d.up.sem.acquire(ctx, d) != nil {
			return
		}
		defer d.up.sem.release()
		if err := s.conn.Send(ctx, &jsonrpc.Message{JSONRPC: "2.0", Method: m.Method, Params: m.Params}); err != nil {
			d.log.Debug("forwarding a notification failed", "method", m.Method, "err", err)
		}
	}()
}

func (d *downstream) hasCapability(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.caps[name]
	return ok
}

// lastRequest is when the IDE last sent a request.
func (d *downstream) lastRequest() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastActive
}

// request sends a server→client request to the IDE and waits for its
// answer.
func (d *downstream) request(ctx context.Context, method string, params json.RawMessage, upKey string) (*jsonrpc.Message, error) {
	id := json.RawMessage(strconv.Quote("mcptray-s" + strconv.FormatInt(d.nextReq.Add(1), 10)))
	sr := &serverReq{upKey: upKey, ch: make(chan *jsonrpc.Message, 1)}
	if !d.up.router.addServerReq(d, jsonrpc.IDKey(id), sr) {
		return nil, fmt.Errorf("the IDE disconnected")
	}
	defer d.up.router.takeServerReq(d, jsonrpc.IDKey(id))
	d.write(jsonrpc.EncodeRequest(id, method, params))
	select {
	case r := <-sr.ch:
		return r, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within requestTimeout")
		}
		return nil, fmt.Errorf("the upstream session ended")
	case <-d.ctx.Done():
		return nil, fmt.Errorf("the IDE disconnected")
	}
}

// cancelServerRequest passes the upstream's cancel of its own request
// (hubID, as the IDE knows it) on.
func (d *downstream) cancelServerRequest(hubID string, params json.RawMessage) {
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil {
		return
	}
	p["requestId"] = json.RawMessage(hubID)
	pb, _ := json.Marshal(p)
	d.notify(jsonrpc.EncodeRequest(nil, "notifications/cancelled", pb))
}
