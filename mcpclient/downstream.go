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
)

// downstream is one IDE's MCP session, reached through a bridge on the
// hub's socket. The hub plays the MCP server for it.
type downstream struct {
	up     *upstream
	conn   net.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	out    chan []byte
	wg     sync.WaitGroup

	nextReq atomic.Int64

	mu         sync.Mutex
	calls      map[string]dsCall // downstream id → call upstream
	serverReqs map[string]*serverReq
	caps       map[string]json.RawMessage
	subs       map[string]bool // resource URIs this IDE subscribed to
	lastActive time.Time
}

type dsCall struct {
	upKey string
	c     *call
}

// serverReq is a server→client request forwarded to this downstream.
type serverReq struct {
	up    *upstream
	upKey string // the upstream's id for it
	ch    chan *message
}

// outQueue bounds lines waiting for a slow IDE.
const outQueue = 4096

func newDownstream(ctx context.Context, up *upstream, conn net.Conn, log *slog.Logger) *downstream {
	ctx, cancel := context.WithCancel(ctx)
	return &downstream{
		up: up, conn: conn, log: log, ctx: ctx, cancel: cancel,
		out:        make(chan []byte, outQueue),
		calls:      map[string]dsCall{},
		serverReqs: map[string]*serverReq{},
	}
}

// serve runs the session until the bridge disconnects or ctx ends.
func (d *downstream) serve(r *bufio.Reader) {
	d.up.attach(d)
	defer d.up.detach(d)
	defer d.up.dropAllSubs(d)
	d.wg.Add(1)
	go d.writeLoop()
	stop := context.AfterFunc(d.ctx, func() { d.conn.Close() })
	defer stop()
	for {
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				d.write(encodeError(nil, CodeInvalidRequest, "mcptray: message larger than 64 MiB; closing the session", nil))
			} else if !errors.Is(err, io.EOF) && d.ctx.Err() == nil {
				d.log.Debug("downstream read ended", "err", err)
			}
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		d.handle(line)
	}
	d.cancel()
	d.wg.Wait()
	d.conn.Close()
}

// readLine reads one newline-terminated line of any length up to the
// message limit.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > maxMessageSize {
			return nil, errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			line = append(line, frag...)
			continue
		}
		if err != nil {
			if err == io.EOF && len(line)+len(frag) > 0 {
				return append(line, frag...), nil
			}
			return nil, err
		}
		if line == nil {
			return append([]byte(nil), frag...), nil
		}
		return append(line, frag...), nil
	}
}

func (d *downstream) writeLoop() {
	defer d.wg.Done()
	w := bufio.NewWriterSize(d.conn, 64<<10)
	for {
		select {
		case <-d.ctx.Done():
			return
		case line := <-d.out:
			_, err := w.Write(line)
			if err == nil {
				err = w.WriteByte('\n')
			}
			for err == nil && len(d.out) > 0 {
				line = <-d.out
				if _, err = w.Write(line); err == nil {
					err = w.WriteByte('\n')
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
}

// write queues a line, waiting while the IDE is slow.
func (d *downstream) write(line []byte) {
	if line == nil {
		return
	}
	select {
	case d.out <- line:
	case <-d.ctx.Done():
	}
}

// notify queues a notification; a downstream whose queue is full misses it
// rather than stalling the upstream for everyone.
func (d *downstream) notify(line []byte) {
	select {
	case d.out <- line:
	case <-d.ctx.Done():
	default:
		d.log.Warn("IDE is not reading; dropped a notification")
	}
}

func (d *downstream) handle(line []byte) {
	m, err := parseMessage(line)
	if err != nil {
		switch {
		case errors.Is(err, errBatch):
			d.write(encodeError(nil, CodeInvalidRequest, "mcptray: "+err.Error(), nil))
		case errors.Is(err, errNotJSONRPC):
			d.write(encodeError(idOf(line), CodeInvalidRequest, "mcptray: invalid request: "+err.Error(), nil))
		default:
			d.write(encodeError(nil, CodeParseError, "mcptray: parse error: the line is not valid JSON", nil))
		}
		return
	}
	switch {
	case m.isRequest():
		d.mu.Lock()
		d.lastActive = time.Now()
		d.mu.Unlock()
		switch m.Method {
		case "initialize":
			d.initialize(m)
		case "ping":
			d.write(encodeResponse(m.ID, json.RawMessage("{}"), nil))
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
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.write(fwd(d.ctx, d, m))
			}()
		}
	case m.isNotification():
		d.notification(m)
	case m.isResponse():
		d.mu.Lock()
		sr := d.serverReqs[idKey(m.ID)]
		delete(d.serverReqs, idKey(m.ID))
		d.mu.Unlock()
		if sr != nil {
			sr.ch <- m
		}
	default:
		d.write(encodeError(m.ID, CodeInvalidRequest, "mcptray: invalid request", nil))
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

func (d *downstream) initialize(m *message) {
	var p struct {
		ProtocolVersion string                     `json:"protocolVersion"`
		Capabilities    map[string]json.RawMessage `json:"capabilities"`
		ClientInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"clientInfo"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		d.write(encodeError(m.ID, CodeInvalidParams, "mcptray: initialize params are not valid: "+err.Error(), nil))
		return
	}
	d.mu.Lock()
	d.caps = p.Capabilities
	d.mu.Unlock()
	d.log.Info("IDE initialized", "client", p.ClientInfo.Name, "clientVersion", p.ClientInfo.Version, "protocol", p.ProtocolVersion)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.write(encodeResponse(m.ID, d.up.initializeResult(d.ctx, p.ProtocolVersion), nil))
	}()
}

func (d *downstream) notification(m *message) {
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
		d.mu.Lock()
		dc, ok := d.calls[idKey(p.RequestID)]
		d.mu.Unlock()
		if ok {
			go d.up.cancelCall(dc.c, dc.upKey, p.Reason)
		}
		return
	}
	d.up.mu.Lock()
	s := d.up.cur
	d.up.mu.Unlock()
	if s == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		if err := s.conn.send(ctx, &message{JSONRPC: "2.0", Method: m.Method, Params: m.Params}); err != nil {
			d.log.Debug("forwarding a notification failed", "method", m.Method, "err", err)
		}
	}()
}

func (d *downstream) trackCall(id json.RawMessage, upKey string, c *call) {
	d.mu.Lock()
	d.calls[idKey(id)] = dsCall{upKey: upKey, c: c}
	d.mu.Unlock()
}

func (d *downstream) untrackCall(id json.RawMessage) {
	d.mu.Lock()
	delete(d.calls, idKey(id))
	d.mu.Unlock()
}

func (d *downstream) hasCapability(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.caps[name]
	return ok
}

// activity reports whether the downstream has calls in flight and when it
// last sent a request.
func (d *downstream) activity() (bool, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls) > 0, d.lastActive
}

// request sends a server→client request to the IDE and waits for its
// answer.
func (d *downstream) request(ctx context.Context, method string, params json.RawMessage, upKey string, up *upstream) (*message, error) {
	id := json.RawMessage(strconv.Quote("mcptray-s" + strconv.FormatInt(d.nextReq.Add(1), 10)))
	sr := &serverReq{up: up, upKey: upKey, ch: make(chan *message, 1)}
	d.mu.Lock()
	d.serverReqs[idKey(id)] = sr
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.serverReqs, idKey(id))
		d.mu.Unlock()
	}()
	d.write(encodeRequest(id, method, params))
	select {
	case r := <-sr.ch:
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the upstream session ended")
	case <-d.ctx.Done():
		return nil, fmt.Errorf("the IDE disconnected")
	}
}

// cancelServerRequest passes the upstream's cancel of its own request on.
func (d *downstream) cancelServerRequest(up *upstream, upKey string, params json.RawMessage) {
	d.mu.Lock()
	var hubID string
	for k, sr := range d.serverReqs {
		if sr.up == up && sr.upKey == upKey {
			hubID = k
		}
	}
	d.mu.Unlock()
	if hubID == "" {
		return
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil {
		return
	}
	p["requestId"] = json.RawMessage(hubID)
	pb, _ := json.Marshal(p)
	d.notify(encodeRequest(nil, "notifications/cancelled", pb))
}
