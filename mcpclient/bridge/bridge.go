// Package bridge is the stdio side of mcptray: what `mcptray-bridge NAME`
// runs for an IDE. It attaches to the hub's socket and copies MCP messages
// both ways; when the hub goes away it re-attaches to a new one and
// replays the IDE's initialize, so the IDE's session carries on. It never
// does OAuth and never touches credentials. Standard library only.
package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Options configure a bridge.
type Options struct {
	// Server is the name in the hub's config.
	Server string
	// Socket is the hub's socket path.
	Socket string
	// Stdin, Stdout and Stderr are the IDE's pipes.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// StartHub starts a hub in the background when none answers; nil means
	// never start one.
	StartHub func() error
	// StartTimeout bounds waiting for a hub to answer (default 5 s).
	StartTimeout time.Duration
	// EOFGrace bounds waiting, once stdin has closed, for the answers to
	// requests still in flight (default DefaultEOFGrace); those that do not
	// come in time are answered with an error.
	EOFGrace time.Duration
}

// DefaultEOFGrace is Options.EOFGrace's default. An IDE that closes stdin
// to stop the server exits the bridge at once unless it left requests
// unanswered; a script that pipes requests in gets every answer.
const DefaultEOFGrace = 5 * time.Second

// reattachGrace is how long a bridge that lost its hub waits for another
// to appear before starting one.
const reattachGrace = time.Second

// defaultMaxMessage bounds one message from the IDE until the hub has
// said what the server's limit is (maxMessageSize in its config).
const defaultMaxMessage = 64 << 20

// hubLineSlack is what a hub line may add around a message of the limit
// (the hub's own envelope and error text).
const hubLineSlack = 1 << 20

type bridge struct {
	opts Options
	// maxMsg is the server's message size limit, from the attach reply.
	maxMsg atomic.Int64

	outMu sync.Mutex
	out   *bufio.Writer

	mu          sync.Mutex
	initLine    []byte // the IDE's initialize request
	initID      string
	initialized bool // the IDE sent notifications/initialized
	inflight    map[string]json.RawMessage
	emptied     chan struct{}   // a signal whenever inflight becomes empty
	swallow     map[string]bool // ids of replayed requests whose answers the IDE must not see
	replays     int

	connMu    sync.Mutex
	ready     *sync.Cond // signalled when conn, failed or stdinDone change
	conn      *conn      // nil while re-attaching
	failed    bool       // no hub: lines go to next for an error answer
	stdinDone bool
	result    chan int    // exit code from the reader (stdin closed)
	next      chan []byte // lines read after a fatal error
}

// Run bridges until stdin closes (exit code 0) or the hub cannot be
// reached or refuses the attach (1).
//
// Lines from the IDE are written to the hub by the goroutine that reads
// them (no hand-off: a wake-up per message costs more than the rest of the
// bridge); lines from the hub are written to stdout by the goroutine that
// reads the socket. The calling goroutine supervises: it notices a lost
// hub and re-attaches while the reader waits.
func Run(ctx context.Context, opts Options) int {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 5 * time.Second
	}
	if opts.EOFGrace <= 0 {
		opts.EOFGrace = DefaultEOFGrace
	}
	b := &bridge{
		opts:     opts,
		out:      bufio.NewWriterSize(opts.Stdout, 64<<10),
		inflight: map[string]json.RawMessage{},
		emptied:  make(chan struct{}, 1),
		swallow:  map[string]bool{},
		result:   make(chan int, 1),
		next:     make(chan []byte),
	}
	b.ready = sync.NewCond(&b.connMu)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	cur, err := b.attach(ctx, true)
	if err != nil {
		go b.readStdin(ctx)
		return b.fatal(ctx, err)
	}
	b.setConn(cur)
	go b.readStdin(ctx)
	for {
		select {
		case code := <-b.result:
			b.finish(ctx, cur)
			b.closeConn()
			return code
		case <-ctx.Done():
			b.closeConn()
			return 0
		case <-cur.lost:
			b.connMu.Lock()
			b.conn = nil // the reader waits for the new one
			b.connMu.Unlock()
			cur, err = b.reattach(ctx, cur)
			if err != nil {
				return b.fatal(ctx, err)
			}
			b.setConn(cur)
		}
	}
}

// finish waits, once stdin has closed, for the answers to the requests
// still in flight (at most EOFGrace), answers those left with an error, and
// flushes stdout.
func (b *bridge) finish(ctx context.Context, cur *conn) {
	defer func() {
		b.outMu.Lock()
		_ = b.out.Flush()
		b.outMu.Unlock()
	}()
	t := time.NewTimer(b.opts.EOFGrace)
	defer t.Stop()
	for {
		b.mu.Lock()
		n := len(b.inflight)
		b.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-b.emptied:
		case <-cur.lost:
			b.answerInflight(jsonrpc.CodeHubRestarted, "mcptray: the hub went away while this request was in flight; it may or may not have run. Please retry.")
			return
		case <-t.C:
			b.answerInflight(jsonrpc.CodeHubUnavailable, fmt.Sprintf("mcptray: stdin closed, and no answer came within %s; the bridge exits", b.opts.EOFGrace))
			return
		case <-ctx.Done():
			return
		}
	}
}

// answerInflight answers every request still in flight with an error and
// returns how many there were.
func (b *bridge) answerInflight(code int, msg string) int {
	b.mu.Lock()
	ids := make([]json.RawMessage, 0, len(b.inflight))
	for k, id := range b.inflight {
		ids = append(ids, id)
		delete(b.inflight, k)
	}
	b.mu.Unlock()
	for i, id := range ids {
		_ = b.writeOut(errorLine(id, code, msg), i == len(ids)-1)
	}
	return len(ids)
}

func (b *bridge) setConn(c *conn) {
	b.connMu.Lock()
	b.conn = c
	b.connMu.Unlock()
	b.ready.Broadcast()
}

func (b *bridge) closeConn() {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.conn != nil {
		b.conn.c.Close()
	}
}

func (b *bridge) logf(format string, args ...any) {
	fmt.Fprintf(b.opts.Stderr, "mcptray-bridge %s: "+format+"\n", append([]any{b.opts.Server}, args...)...)
}

// readStdin reads IDE lines and writes each to the hub. When the hub is
// being replaced it waits for the new attachment; after a fatal error it
// hands lines to the supervisor instead.
func (b *bridge) readStdin(ctx context.Context) {
	r := bufio.NewReaderSize(b.opts.Stdin, 64<<10)
	for {
		line, err := jsonrpc.ReadLine(r, b.limit())
		var tl *jsonrpc.TooLargeError
		if errors.As(err, &tl) {
			// Answer it and read on: the IDE's session survives one bad line.
			b.logf("dropped a message of more than %s from the IDE", jsonrpc.FormatSize(tl.Limit))
			_ = b.writeOut(errorLine(tl.ID(), jsonrpc.CodeMessageTooLarge, fmt.Sprintf("mcptray: the message is larger than the %s limit for server %q (maxMessageSize in the mcptray config); it was dropped", jsonrpc.FormatSize(tl.Limit), b.opts.Server)), true)
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if !b.toHub(ctx, line, r.Buffered() == 0) {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.logf("reading stdin: %v", err)
			}
			b.connMu.Lock()
			b.stdinDone = true
			b.connMu.Unlock()
			b.ready.Broadcast()
			select {
			case b.result <- 0:
			default:
			}
			close(b.next)
			return
		}
	}
}

// toHub writes a line to the current attachment, waiting for one while the
// bridge re-attaches. A line whose write fails was tracked as in flight:
// the re-attach answers it (or replays it, for initialize). It returns
// false when the reader should stop.
func (b *bridge) toHub(ctx context.Context, line []byte, flush bool) bool {
	b.connMu.Lock()
	for b.conn == nil && !b.failed && ctx.Err() == nil {
		b.ready.Wait()
	}
	if b.failed {
		b.connMu.Unlock()
		select {
		case b.next <- line:
			return true
		case <-ctx.Done():
			return false
		}
	}
	c := b.conn
	if c == nil {
		b.connMu.Unlock()
		return false
	}
	// Tracked here, with the attachment fixed, so that a re-attach either
	// sees the line as in flight (and answers it) or the line goes to the
	// new hub: never both.
	b.track(line)
	err := b.send(c, line, flush)
	b.connMu.Unlock()
	if err != nil {
		c.c.Close() // the pump sees it and the supervisor re-attaches
	}
	return true
}

// limit is the size limit for one IDE message.
func (b *bridge) limit() int64 {
	if n := b.maxMsg.Load(); n > 0 {
		return n
	}
	return defaultMaxMessage
}

// writeOut writes one line to the IDE; flush=false lets a burst share one
// write.
func (b *bridge) writeOut(line []byte, flush bool) error {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	if _, err := b.out.Write(line); err != nil {
		return err
	}
	if err := b.out.WriteByte('\n'); err != nil {
		return err
	}
	if flush {
		return b.out.Flush()
	}
	return nil
}

// head is the part of a message the bridge looks at.
type head struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

func parseHead(line []byte) (head, bool) {
	var h head
	if err := json.Unmarshal(line, &h); err != nil {
		return h, false
	}
	return h, true
}

func hasID(id json.RawMessage) bool { return len(id) > 0 && string(id) != "null" }

// track records what an IDE line means for a later replay.
func (b *bridge) track(line []byte) {
	h, ok := parseHead(line)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case h.Method == "initialize" && hasID(h.ID):
		b.initLine = append([]byte(nil), line...)
		b.initID = string(h.ID)
		b.inflight[string(h.ID)] = h.ID
	case h.Method == "notifications/initialized":
		b.initialized = true
	case h.Method == "notifications/cancelled":
		// The IDE is done with the request: the hub sends nothing more
		// for it (both eras' rules), so stdin's end must not wait for an
		// answer to it, nor write one.
		var p struct {
			Params struct {
				RequestID json.RawMessage `json:"requestId"`
			} `json:"params"`
		}
		if json.Unmarshal(line, &p) == nil && hasID(p.Params.RequestID) {
			delete(b.inflight, string(p.Params.RequestID))
			if len(b.inflight) == 0 {
				select {
				case b.emptied <- struct{}{}:
				default:
				}
			}
		}
	case h.Method != "" && hasID(h.ID):
		b.inflight[string(h.ID)] = h.ID
	}
}

func errorLine(id json.RawMessage, code int, msg string) []byte {
	if !hasID(id) {
		id = json.RawMessage("null")
	}
	mb, _ := json.Marshal(msg)
	return []byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"error":{"code":` + strconv.Itoa(code) + `,"message":` + string(mb) + `}}`)
}

// fatal reports err on stderr and answers the IDE's pending requests (or,
// if none came yet, the next one within a few seconds) with a JSON-RPC
// error, then returns exit code 1.
func (b *bridge) fatal(ctx context.Context, err error) int {
	code := jsonrpc.CodeHubUnavailable
	var ae *attachError
	msg := "mcptray: " + err.Error()
	if errors.As(err, &ae) {
		code = jsonrpc.CodeAttachRefused
		msg = err.Error()
	}
	b.logf("%s", msg)
	b.connMu.Lock()
	b.failed = true
	b.connMu.Unlock()
	b.ready.Broadcast()
	if b.answerInflight(code, msg) > 0 {
		return 1
	}
	answer := func(id json.RawMessage) { _ = b.writeOut(errorLine(id, code, msg), true) }
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case line, ok := <-b.next:
			if !ok {
				return 1
			}
			if h, ok := parseHead(line); ok && h.Method != "" && hasID(h.ID) {
				answer(h.ID)
				return 1
			} else if !ok {
				answer(nil)
				return 1
			}
		case <-t.C:
			answer(nil)
			return 1
		case <-ctx.Done():
			return 1
		}
	}
}
