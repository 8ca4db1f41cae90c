package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/internal/group"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// StreamableConn is the Streamable HTTP transport: a POST per message,
// answered with JSON or an event stream, and a standalone GET stream for
// what the server sends on its own (Listen).
type StreamableConn struct {
	opts     Options
	ctx      context.Context // the session's lifetime
	cancel   context.CancelFunc
	session  atomic.Value // string
	protocol atomic.Value // string
	broken   Broken
	// wg owns the GET stream and the drains of response streams; Close
	// waits for them.
	wg group.Group

	busyMu sync.Mutex
	busy   int           // calls in flight
	idle   chan struct{} // closed when busy drops to 0

	// modern is set for a connection that speaks revision 2026-07-28 or
	// later (see modern.go): no session, no GET stream, request headers.
	modern bool
}

// NewStreamable returns a Streamable HTTP connection; nothing is sent
// until the first Call (initialize).
func NewStreamable(opts Options) *StreamableConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &StreamableConn{opts: opts, ctx: ctx, cancel: cancel, broken: NewBroken()}
	c.session.Store("")
	c.protocol.Store("")
	return c
}

func (c *StreamableConn) Done() <-chan struct{}       { return c.broken.Done() }
func (c *StreamableConn) Err() error                  { return c.broken.Err() }
func (c *StreamableConn) SessionID() string           { return c.session.Load().(string) }
func (c *StreamableConn) SetProtocolVersion(v string) { c.protocol.Store(v) }

// fail marks the session broken. Requests in flight on their own response
// streams carry on; close aborts them.
func (c *StreamableConn) fail(err error) {
	c.broken.Fail(err)
}

func (c *StreamableConn) Busy() int {
	c.busyMu.Lock()
	defer c.busyMu.Unlock()
	return c.busy
}

// Idle is closed once no call is in flight (at once when none is).
func (c *StreamableConn) Idle() <-chan struct{} {
	c.busyMu.Lock()
	defer c.busyMu.Unlock()
	if c.busy == 0 {
		return closedChan
	}
	return c.idle
}

var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// callStarted and callEnded count a call in flight.
func (c *StreamableConn) callStarted() {
	c.busyMu.Lock()
	defer c.busyMu.Unlock()
	if c.busy == 0 {
		c.idle = make(chan struct{})
	}
	c.busy++
}

func (c *StreamableConn) callEnded() {
	c.busyMu.Lock()
	defer c.busyMu.Unlock()
	c.busy--
	if c.busy == 0 {
		close(c.idle)
	}
}

// linkCtx returns a context that ends with either ctx or the session.
func (c *StreamableConn) linkCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (c *StreamableConn) newRequest(ctx context.Context, method string, body []byte, m *jsonrpc.Message) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.opts.URL, rd)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("bad upstream URL: %w", err)}
	}
	for k, v := range c.opts.Headers {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	} else {
		req.Header.Set("Accept", "text/event-stream")
	}
	if s := c.SessionID(); s != "" {
		req.Header.Set("Mcp-Session-Id", s)
	}
	if v := c.protocol.Load().(string); v != "" {
		req.Header.Set("MCP-Protocol-Version", v)
	}
	if c.modern && m != nil {
		setModernHeaders(req.Header, m)
		for k, v := range extraHeaders(ctx) {
			req.Header[k] = v
		}
	}
	if err := c.opts.authorize(req); err != nil {
		return nil, err
	}
	return req, nil
}

// statusError turns a non-2xx response into a typed error and closes it.
func (c *StreamableConn) statusError(resp *http.Response, hadSession bool) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &AuthError{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
	case hadSession && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest):
		return &SessionError{Status: resp.StatusCode, Body: ShortBody(body)}
	}
	return &StatusError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header), Body: ShortBody(body)}
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func (c *StreamableConn) Call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	if c.ctx.Err() != nil {
		return nil, &UnsentError{c.closedErr()} // never sent: may be retried
	}
	c.callStarted()
	defer c.callEnded()
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := c.linkCtx(ctx)
	handedOff := false // the stream's drain goroutine cancels instead
	defer func() {
		if !handedOff {
			cancel()
		}
	}()
	req, err := c.newRequest(ctx, http.MethodPost, body, m)
	if err != nil {
		return nil, err
	}
	hadSession := c.SessionID() != ""
	resp, err := do(c.opts.Client, req)
	if err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		if c.modern {
			if r := modernErrorAnswer(resp, m.ID); r != nil {
				return r, nil
			}
		}
		return nil, c.statusError(resp, hadSession)
	}
	defer func() {
		if !handedOff {
			resp.Body.Close()
		}
	}()
	if m.Method == "initialize" && !c.modern {
		if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
			c.session.Store(s)
		}
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		return c.readJSONResponse(ctx, resp.Body, m.ID)
	case "text/event-stream":
		r, cur, err := c.readResponseStream(ctx, resp.Body, m.ID)
		if err == nil {
			// Read the stream to its end in the background so that its
			// connection goes back to the pool (a cancelled one cannot).
			handedOff = true
			if cur != resp.Body {
				resp.Body.Close()
			}
			// The rest of the stream is read in the background; waiting for
			// the server to close it cost more (measured: ~300 µs a call
			// with server-everything) than a new loopback connection.
			// Close ends the drain (cancel is linked to the session) and
			// waits for it.
			if !c.wg.Go(func() { drain(cur, cancel) }) {
				cur.Close()
				cancel()
			}
		}
		return r, err
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, c.streamFailed(ctx, fmt.Errorf("unexpected content type %q (body %q)", resp.Header.Get("Content-Type"), ShortBody(b)), true)
	}
}

// readJSONResponse reads a response that came as a JSON body.
func (c *StreamableConn) readJSONResponse(ctx context.Context, body io.Reader, id json.RawMessage) (*jsonrpc.Message, error) {
	b, err := io.ReadAll(io.LimitReader(body, c.opts.maxMessage()+1))
	if err != nil {
		return nil, c.streamFailed(ctx, err, false)
	}
	if int64(len(b)) > c.opts.maxMessage() {
		// This answer is lost; the session is not. Closing the body
		// drops the connection rather than reading the rest.
		return nil, c.opts.tooLarge(b)
	}
	r, perr := jsonrpc.Parse(b)
	if perr != nil || !r.IsResponse() || jsonrpc.IDKey(r.ID) != jsonrpc.IDKey(id) {
		if perr == nil {
			perr = fmt.Errorf("response does not answer request %s", id)
		}
		return nil, c.streamFailed(ctx, fmt.Errorf("%w (body %q)", perr, ShortBody(b)), true)
	}
	return r, nil
}

func (c *StreamableConn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrConnClosed
}

// ctxErr maps an error from a request whose context may have ended.
func (c *StreamableConn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c.ctx.Err() != nil {
			return c.closedErr()
		}
		return ctx.Err()
	}
	return err
}

// streamFailed handles a broken or corrupt response: unless our own caller
// gave up, the session is unusable and marked broken.
func (c *StreamableConn) streamFailed(ctx context.Context, err error, garbage bool) error {
	if ctx.Err() != nil {
		return c.ctxErr(ctx, err)
	}
	se := &StreamError{Err: err, Garbage: garbage}
	if !c.modern {
		// A modern connection has no session to break: the request is
		// lost, and the caller re-issues it (the revision says it must).
		c.fail(se)
	}
	return se
}

// readResponseStream reads the SSE stream of one POST until the response
// to id arrives, passing other messages on. A stream that ends cleanly
// after an event id is resumed with GET and Last-Event-ID (SEP-1699).
func (c *StreamableConn) readResponseStream(ctx context.Context, body io.ReadCloser, id json.RawMessage) (*jsonrpc.Message, io.ReadCloser, error) {
	want := jsonrpc.IDKey(id)
	sr := newSSEReader(body, c.opts.maxMessage())
	for resumes := 0; ; {
		ev, err := sr.Next()
		if err == io.EOF && sr.lastID != "" && resumes < 5 && !c.modern {
			body.Close()
			resumes++
			nb, rerr := c.resume(ctx, sr.lastID, sr.retry)
			if rerr != nil {
				return nil, nil, rerr
			}
			body = nb
			lastID, retry := sr.lastID, sr.retry
			sr = newSSEReader(body, c.opts.maxMessage())
			sr.lastID, sr.retry = lastID, retry
			continue
		}
		if tl, ok := IsTooLarge(err); ok {
			if pid, method := jsonrpc.HeadFromPrefix(tl.Prefix); method != "" || (pid != nil && jsonrpc.IDKey(pid) != want) {
				c.opts.logger().Warn("dropped a message over the size limit from the server", "method", method, "limit", tl.Limit)
				continue // not the answer: read on
			}
			// Our answer (or nothing shows it is not): this request fails,
			// the session carries on.
			body.Close()
			return nil, nil, tl
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			body.Close()
			return nil, nil, c.streamFailed(ctx, fmt.Errorf("response stream ended before the response: %w", err), false)
		}
		if ev.Event != "" && ev.Event != "message" {
			continue
		}
		if len(bytes.TrimSpace(ev.Data)) == 0 {
			continue // priming event (2025-11-25 servers send an empty one)
		}
		msg, perr := jsonrpc.Parse(ev.Data)
		if perr != nil {
			body.Close()
			return nil, nil, c.streamFailed(ctx, fmt.Errorf("%w (data %q)", perr, ShortBody(ev.Data)), true)
		}
		if msg.IsResponse() && jsonrpc.IDKey(msg.ID) == want {
			return msg, body, nil // the caller drains and closes body
		}
		if msg.IsResponse() {
			continue // a response to something else: not ours to deliver
		}
		c.opts.Inbound(msg, want)
	}
}

// drain reads what is left of a response stream (a server closes it after
// the response), bounded in size and time, then releases it.
func drain(body io.ReadCloser, cancel context.CancelFunc) {
	t := time.AfterFunc(2*time.Second, cancel)
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	t.Stop()
	body.Close()
	cancel()
}

func (c *StreamableConn) resume(ctx context.Context, lastID string, wait time.Duration) (io.ReadCloser, error) {
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	if wait > 5*time.Second {
		wait = 5 * time.Second
	}
	t := time.NewTimer(wait)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return nil, c.ctxErr(ctx, ctx.Err())
	}
	req, err := c.newRequest(ctx, http.MethodGet, nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := do(c.opts.Client, req)
	if err != nil {
		return nil, c.streamFailed(ctx, err, false)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, true)
	}
	return resp.Body, nil
}

func (c *StreamableConn) Send(ctx context.Context, m *jsonrpc.Message) error {
	if c.ctx.Err() != nil {
		return c.closedErr()
	}
	if c.modern {
		// Revision 2026-07-28 defines no client messages over Streamable
		// HTTP but requests: a cancel is the closing of the request's
		// response stream, and server requests come as MRTR results.
		return nil
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := c.linkCtx(ctx)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPost, body, m)
	if err != nil {
		return err
	}
	hadSession := c.SessionID() != ""
	resp, err := do(c.opts.Client, req)
	if err != nil {
		return c.ctxErr(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		return c.statusError(resp, hadSession)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return nil
}

func (c *StreamableConn) Close() {
	c.broken.Fail(ErrConnClosed)
	c.cancel()
	if s := c.SessionID(); s != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, err := c.newRequest(ctx, http.MethodDelete, nil, nil)
		if err == nil {
			if resp, err := do(c.opts.Client, req); err == nil {
				resp.Body.Close()
			}
		}
		cancel()
	}
	c.wg.Wait()
	c.opts.Client.CloseIdleConnections()
}
