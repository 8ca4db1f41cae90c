package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// conn is one attachment to a hub.
type conn struct {
	c    net.Conn
	w    *bufio.Writer
	lost chan struct{}
}

func (b *bridge) send(c *conn, line []byte, flush bool) error {
	if _, err := c.w.Write(line); err != nil {
		return err
	}
	if err := c.w.WriteByte('\n'); err != nil {
		return err
	}
	if flush {
		return c.w.Flush()
	}
	return nil
}

// attach connects to the hub, starting one if allowed, and attaches.
func (b *bridge) attach(ctx context.Context, first bool) (*conn, error) {
	deadline := time.Now().Add(b.opts.StartTimeout)
	// After losing a hub, give its successor (a tray app taking over, an
	// upgrade) a moment to take the socket before starting one ourselves.
	startAfter := time.Now()
	if !first {
		startAfter = startAfter.Add(reattachGrace)
		deadline = deadline.Add(reattachGrace)
	}
	started := false
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, r, rep, err := ipc.Open(actx, b.opts.Socket, ipc.Hello{Op: ipc.OpAttach, Server: b.opts.Server, Client: "bridge"})
		cancel()
		if err == nil {
			if !rep.OK {
				c.Close()
				return nil, &attachError{msg: rep.Error}
			}
			if rep.MaxMessage > 0 {
				b.maxMsg.Store(rep.MaxMessage)
			}
			cn := &conn{c: c, w: bufio.NewWriterSize(c, 64<<10), lost: make(chan struct{})}
			go b.pumpFromHub(cn, r)
			return cn, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var unsafe *ipc.UnsafeError
		if errors.As(err, &unsafe) {
			// The socket is not this user's own: nothing was sent to it, and
			// a hub started now would only be refused there too.
			return nil, err
		}
		if !errors.Is(err, ipc.ErrNoHub) {
			// A hub is there but misbehaves (e.g. shutting down): retry.
		} else if !started && b.opts.StartHub != nil && !time.Now().Before(startAfter) {
			started = true
			if serr := b.opts.StartHub(); serr != nil {
				return nil, fmt.Errorf("no hub is running and starting one failed: %w", serr)
			}
		}
		if time.Now().After(deadline) {
			if b.opts.StartHub == nil {
				return nil, fmt.Errorf("no mcptray hub answers on %s; start it with `mcptray serve` (or the tray app)", b.opts.Socket)
			}
			return nil, fmt.Errorf("started `mcptray serve`, but no hub answered on %s within %s; see the hub log next to the socket", b.opts.Socket, b.opts.StartTimeout)
		}
		t := time.NewTimer(25 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

type attachError struct{ msg string }

func (e *attachError) Error() string { return e.msg }

// pumpFromHub copies hub lines to the IDE until the connection breaks.
func (b *bridge) pumpFromHub(c *conn, r *bufio.Reader) {
	defer close(c.lost)
	for {
		line, err := jsonrpc.ReadLine(r, b.limit()+hubLineSlack)
		var tl *jsonrpc.TooLargeError
		if errors.As(err, &tl) {
			// The hub bounds what it sends; answer what this was, if a
			// request of the IDE's, and read on.
			if id := tl.ID(); hasID(id) {
				_ = b.fromHub(errorLine(id, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("mcptray: the answer is larger than the %s limit for server %q; it was dropped", jsonrpc.FormatSize(b.limit()), b.opts.Server)), r.Buffered() == 0)
			}
			continue
		}
		if len(line) > 0 {
			if b.fromHub(line, r.Buffered() == 0) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fromHub passes a hub line on, unless it answers a replayed request.
func (b *bridge) fromHub(line []byte, flush bool) error {
	h, ok := parseHead(line)
	if ok && h.Method == "" && hasID(h.ID) {
		key := string(h.ID)
		b.mu.Lock()
		sw := b.swallow[key]
		delete(b.swallow, key)
		delete(b.inflight, key)
		if len(b.inflight) == 0 {
			select {
			case b.emptied <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
		if sw {
			if flush {
				b.outMu.Lock()
				defer b.outMu.Unlock()
				return b.out.Flush()
			}
			return nil
		}
	}
	return b.writeOut(line, flush)
}

// reattach answers the requests lost with the old hub, attaches to a new
// hub and replays the IDE's initialize.
func (b *bridge) reattach(ctx context.Context, old *conn) (*conn, error) {
	old.c.Close()
	b.logf("lost the hub; re-attaching")
	b.mu.Lock()
	lost := make([]json.RawMessage, 0, len(b.inflight))
	replayInit := false
	for k, id := range b.inflight {
		if k == b.initID && b.initLine != nil {
			replayInit = true // the IDE still waits for this answer: replay it as is
			continue
		}
		lost = append(lost, id)
		delete(b.inflight, k)
	}
	initLine, initialized := b.initLine, b.initialized
	b.mu.Unlock()
	for _, id := range lost {
		_ = b.writeOut(errorLine(id, jsonrpc.CodeHubRestarted, "mcptray: the hub restarted while this request was in flight; it may or may not have run. Please retry."), false)
	}
	b.outMu.Lock()
	_ = b.out.Flush()
	b.outMu.Unlock()

	c, err := b.attach(ctx, false)
	if err != nil {
		return nil, err
	}
	if initLine != nil {
		line := initLine
		if !replayInit {
			b.mu.Lock()
			b.replays++
			id := strconv.Quote("mcptray-replay-" + strconv.Itoa(b.replays))
			b.swallow[id] = true
			b.mu.Unlock()
			line = replaceID(initLine, id)
		}
		if err := b.send(c, line, !initialized); err != nil {
			return c, nil // the pump notices and we come round again
		}
		if initialized {
			_ = b.send(c, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), true)
		}
	}
	b.logf("re-attached")
	return c, nil
}

func replaceID(line []byte, id string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return line
	}
	m["id"] = json.RawMessage(id)
	out, err := json.Marshal(m)
	if err != nil {
		return line
	}
	return out
}
