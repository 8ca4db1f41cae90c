package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Transport names, as in the config.
const (
	TransportAuto       = "auto"
	TransportStreamable = "streamable-http"
	TransportSSE        = "sse"
)

// inboundFunc receives messages the upstream sends on its own: requests
// (sampling, elicitation, roots, ping) and notifications. related is the
// upstream id of the request on whose response stream the message came, or
// "" when it came on a standalone stream.
type inboundFunc func(m *jsonrpc.Message, related string)

// upstreamConn is one live MCP session to an upstream, whatever the
// transport. call, send and close may be called from any goroutine.
type upstreamConn interface {
	// call sends a request and waits for its response.
	call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error)
	// send sends a notification or a response to a server request.
	send(ctx context.Context, m *jsonrpc.Message) error
	// close ends the session (DELETE for Streamable HTTP) and every stream.
	close()
	// busy reports calls in flight.
	busy() int
	// done is closed when the session broke; err says why.
	done() <-chan struct{}
	err() error
	sessionID() string
	transport() string
	setProtocolVersion(v string)
}

// connOptions is what both transports need.
type connOptions struct {
	URL     string
	Client  *http.Client
	Headers http.Header
	Inbound inboundFunc
	Logger  *slog.Logger
	// Token returns the Authorization header value for the next request
	// ("" for none); nil means none.
	Token func(context.Context) (string, error)
	// MaxMessage bounds one message from the server: a JSON body or a
	// whole SSE event (0: DefaultMaxMessageSize).
	MaxMessage int64
}

func (o *connOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *connOptions) maxMessage() int64 {
	if o.MaxMessage <= 0 {
		return DefaultMaxMessageSize
	}
	return o.MaxMessage
}

// tooLarge is the error for a message over the limit whose first bytes
// are prefix.
func (o *connOptions) tooLarge(prefix []byte) error {
	if len(prefix) > jsonrpc.PrefixSize {
		prefix = prefix[:jsonrpc.PrefixSize]
	}
	return &jsonrpc.TooLargeError{Limit: o.maxMessage(), Prefix: append([]byte(nil), prefix...)}
}

// authorize sets the Authorization header from opts.Token.
func (o *connOptions) authorize(req *http.Request) error {
	if o.Token == nil {
		return nil
	}
	v, err := o.Token(req.Context())
	if err != nil {
		return err
	}
	if v != "" {
		req.Header.Set("Authorization", v)
	}
	return nil
}

// brokenState records the first fatal error of a connection.
type brokenState struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
	e    error
}

func newBroken() brokenState { return brokenState{ch: make(chan struct{})} }

func (b *brokenState) fail(err error) {
	b.once.Do(func() {
		b.mu.Lock()
		b.e = err
		b.mu.Unlock()
		close(b.ch)
	})
}

func (b *brokenState) done() <-chan struct{} { return b.ch }

func (b *brokenState) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.e
}

// ---- Streamable HTTP -------------------------------------------------------

type streamableConn struct {
	opts     connOptions
	ctx      context.Context // the session's lifetime
	cancel   context.CancelFunc
	session  atomic.Value // string
	protocol atomic.Value // string
	broken   brokenState
	wg       sync.WaitGroup
	inflight atomic.Int32
}

func newStreamableConn(opts connOptions) *streamableConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &streamableConn{opts: opts, ctx: ctx, cancel: cancel, broken: newBroken()}
	c.session.Store("")
	c.protocol.Store("")
	return c
}

func (c *streamableConn) transport() string           { return TransportStreamable }
func (c *streamableConn) done() <-chan struct{}       { return c.broken.done() }
func (c *streamableConn) err() error                  { return c.broken.err() }
func (c *streamableConn) sessionID() string           { return c.session.Load().(string) }
func (c *streamableConn) setProtocolVersion(v string) { c.protocol.Store(v) }

// fail marks the session broken. Requests in flight on their own response
// streams carry on; close aborts them.
func (c *streamableConn) fail(err error) {
	c.broken.fail(err)
}

func (c *streamableConn) busy() int { return int(c.inflight.Load()) }

// linkCtx returns a context that ends with either ctx or the session.
func (c *streamableConn) linkCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (c *streamableConn) newRequest(ctx context.Context, method string, body []byte) (*http.Request, error) {
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
	if s := c.sessionID(); s != "" {
		req.Header.Set("Mcp-Session-Id", s)
	}
	if v := c.protocol.Load().(string); v != "" {
		req.Header.Set("MCP-Protocol-Version", v)
	}
	if err := c.opts.authorize(req); err != nil {
		return nil, err
	}
	return req, nil
}

// statusError turns a non-2xx response into a typed error and closes it.
func (c *streamableConn) statusError(resp *http.Response, hadSession bool) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &AuthError{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
	case hadSession && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest):
		return &SessionError{Status: resp.StatusCode, Body: shortBody(body)}
	}
	return &StatusError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header), Body: shortBody(body)}
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

func (c *streamableConn) call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	if c.ctx.Err() != nil {
		return nil, c.closedErr()
	}
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
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
	req, err := c.newRequest(ctx, http.MethodPost, body)
	if err != nil {
		return nil, err
	}
	hadSession := c.sessionID() != ""
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return nil, c.statusError(resp, hadSession)
	}
	defer func() {
		if !handedOff {
			resp.Body.Close()
		}
	}()
	if m.Method == "initialize" {
		if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
			c.session.Store(s)
		}
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.maxMessage()+1))
		if err != nil {
			return nil, c.streamFailed(ctx, err, false)
		}
		if int64(len(b)) > c.opts.maxMessage() {
			// This answer is lost; the session is not. Closing the body
			// drops the connection rather than reading the rest.
			return nil, c.opts.tooLarge(b)
		}
		r, perr := jsonrpc.Parse(b)
		if perr != nil || !r.IsResponse() || jsonrpc.IDKey(r.ID) != jsonrpc.IDKey(m.ID) {
			if perr == nil {
				perr = fmt.Errorf("response does not answer request %s", m.ID)
			}
			return nil, c.streamFailed(ctx, fmt.Errorf("%w (body %q)", perr, shortBody(b)), true)
		}
		return r, nil
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
			go drain(cur, cancel)
		}
		return r, err
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, c.streamFailed(ctx, fmt.Errorf("unexpected content type %q (body %q)", resp.Header.Get("Content-Type"), shortBody(b)), true)
	}
}

func (c *streamableConn) closedErr() error {
	if err := c.err(); err != nil {
		return err
	}
	return errConnClosed
}

// ctxErr maps an error from a request whose context may have ended.
func (c *streamableConn) ctxErr(ctx context.Context, err error) error {
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
func (c *streamableConn) streamFailed(ctx context.Context, err error, garbage bool) error {
	if ctx.Err() != nil {
		return c.ctxErr(ctx, err)
	}
	se := &StreamError{Err: err, Garbage: garbage}
	c.fail(se)
	return se
}

// readResponseStream reads the SSE stream of one POST until the response
// to id arrives, passing other messages on. A stream that ends cleanly
// after an event id is resumed with GET and Last-Event-ID (SEP-1699).
func (c *streamableConn) readResponseStream(ctx context.Context, body io.ReadCloser, id json.RawMessage) (*jsonrpc.Message, io.ReadCloser, error) {
	want := jsonrpc.IDKey(id)
	sr := newSSEReader(body, c.opts.maxMessage())
	for resumes := 0; ; {
		ev, err := sr.Next()
		if err == io.EOF && sr.lastID != "" && resumes < 5 {
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
		if tl, ok := isTooLarge(err); ok {
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
			return nil, nil, c.streamFailed(ctx, fmt.Errorf("%w (data %q)", perr, shortBody(ev.Data)), true)
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

func (c *streamableConn) resume(ctx context.Context, lastID string, wait time.Duration) (io.ReadCloser, error) {
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
	req, err := c.newRequest(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return nil, c.streamFailed(ctx, err, false)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, true)
	}
	return resp.Body, nil
}

func (c *streamableConn) send(ctx context.Context, m *jsonrpc.Message) error {
	if c.ctx.Err() != nil {
		return c.closedErr()
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := c.linkCtx(ctx)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPost, body)
	if err != nil {
		return err
	}
	hadSession := c.sessionID() != ""
	resp, err := c.opts.Client.Do(req)
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

// listen keeps the standalone GET stream open for server-initiated
// messages. A server that does not offer it (405/404) is fine.
func (c *streamableConn) listen() {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		lastID := ""
		failures := 0
		for c.ctx.Err() == nil {
			wait, stop := c.listenOnce(&lastID)
			if stop {
				return
			}
			if wait == 0 {
				failures = 0
				wait = 200 * time.Millisecond
			} else {
				failures++
				wait = min(wait*time.Duration(1<<min(failures, 6)), 30*time.Second)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
	}()
}

// listenOnce runs one GET stream. It returns how long to wait before the
// next one (0 after a clean end) or stop.
func (c *streamableConn) listenOnce(lastID *string) (wait time.Duration, stop bool) {
	req, err := c.newRequest(c.ctx, http.MethodGet, nil)
	if err != nil {
		return 0, true
	}
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		if c.ctx.Err() != nil {
			return 0, true
		}
		return time.Second, false
	}
	switch {
	case resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotFound && *lastID == "":
		resp.Body.Close()
		return 0, true
	case resp.StatusCode != http.StatusOK:
		// Only a stream that carried a session ID can have lost it; a
		// stateless server's 400 is about the GET, not a session.
		err := c.statusError(resp, c.sessionID() != "")
		var se *SessionError
		var ae *AuthError
		if errors.As(err, &se) || errors.As(err, &ae) {
			c.fail(err)
			return 0, true
		}
		return time.Second, false
	}
	defer resp.Body.Close()
	sr := newSSEReader(resp.Body, c.opts.maxMessage())
	for {
		ev, err := sr.Next()
		if sr.lastID != "" {
			*lastID = sr.lastID
		}
		if err == io.EOF {
			return 0, false
		}
		if tl, ok := isTooLarge(err); ok {
			_, method := jsonrpc.HeadFromPrefix(tl.Prefix)
			c.opts.logger().Warn("dropped a message over the size limit from the server", "method", method, "limit", tl.Limit)
			continue
		}
		if err != nil {
			if c.ctx.Err() != nil {
				return 0, true
			}
			c.fail(&StreamError{Err: fmt.Errorf("standalone stream: %w", err)})
			return 0, true
		}
		if (ev.Event != "" && ev.Event != "message") || len(bytes.TrimSpace(ev.Data)) == 0 {
			continue
		}
		msg, perr := jsonrpc.Parse(ev.Data)
		if perr != nil {
			c.fail(&StreamError{Err: fmt.Errorf("standalone stream: %w (data %q)", perr, shortBody(ev.Data)), Garbage: true})
			return 0, true
		}
		if msg.IsResponse() {
			continue
		}
		c.opts.Inbound(msg, "")
	}
}

func (c *streamableConn) close() {
	c.broken.fail(errConnClosed)
	c.cancel()
	if s := c.sessionID(); s != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, err := c.newRequest(ctx, http.MethodDelete, nil)
		if err == nil {
			if resp, err := c.opts.Client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		cancel()
	}
	c.wg.Wait()
	c.opts.Client.CloseIdleConnections()
}

// ---- legacy HTTP+SSE (2024-11-05) -------------------------------------------

type sseConn struct {
	opts     connOptions
	ctx      context.Context
	cancel   context.CancelFunc
	endpoint string
	protocol atomic.Value
	broken   brokenState
	wg       sync.WaitGroup

	mu      sync.Mutex
	pending map[string]chan callResult
}

// callResult is what a legacy SSE call waits for: the response, or why it
// will not come.
type callResult struct {
	msg *jsonrpc.Message
	err error
}

// dialSSE opens the event stream and waits for the endpoint event.
func dialSSE(ctx context.Context, opts connOptions) (*sseConn, error) {
	cctx, cancel := context.WithCancel(context.Background())
	c := &sseConn{opts: opts, ctx: cctx, cancel: cancel, broken: newBroken(), pending: map[string]chan callResult{}}
	c.protocol.Store("")
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, opts.URL, nil)
	if err != nil {
		cancel()
		return nil, &ConfigError{fmt.Errorf("bad upstream URL: %w", err)}
	}
	for k, v := range opts.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	if err := opts.authorize(req); err != nil {
		cancel()
		return nil, err
	}
	stop := context.AfterFunc(ctx, cancel) // only while dialing
	defer stop()
	resp, err := opts.Client.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		sc := &streamableConn{}
		return nil, sc.statusError(resp, false)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "text/event-stream" {
		resp.Body.Close()
		cancel()
		return nil, &StatusError{Status: resp.StatusCode, Body: "expected an event stream, got " + resp.Header.Get("Content-Type")}
	}
	sr := newSSEReader(resp.Body, opts.maxMessage())
	for {
		ev, err := sr.Next()
		if _, ok := isTooLarge(err); ok {
			continue
		}
		if err != nil {
			resp.Body.Close()
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &StreamError{Err: fmt.Errorf("stream ended before the endpoint event: %w", err)}
		}
		if ev.Event != "endpoint" {
			continue
		}
		ep, err := url.Parse(string(bytes.TrimSpace(ev.Data)))
		if err != nil {
			resp.Body.Close()
			cancel()
			return nil, &StreamError{Err: fmt.Errorf("bad endpoint event %q", shortBody(ev.Data)), Garbage: true}
		}
		base, _ := url.Parse(opts.URL)
		c.endpoint = base.ResolveReference(ep).String()
		break
	}
	c.wg.Add(1)
	go c.read(resp.Body, sr)
	return c, nil
}

func (c *sseConn) transport() string           { return TransportSSE }
func (c *sseConn) busy() int                   { return 0 }
func (c *sseConn) done() <-chan struct{}       { return c.broken.done() }
func (c *sseConn) err() error                  { return c.broken.err() }
func (c *sseConn) setProtocolVersion(v string) { c.protocol.Store(v) }

func (c *sseConn) sessionID() string {
	if u, err := url.Parse(c.endpoint); err == nil {
		if s := u.Query().Get("sessionId"); s != "" {
			return s
		}
		return u.Query().Get("session_id")
	}
	return ""
}

func (c *sseConn) fail(err error) {
	c.broken.fail(err)
	c.cancel()
	c.mu.Lock()
	for k, ch := range c.pending {
		close(ch)
		delete(c.pending, k)
	}
	c.mu.Unlock()
}

func (c *sseConn) read(body io.ReadCloser, sr *sseReader) {
	defer c.wg.Done()
	defer body.Close()
	for {
		ev, err := sr.Next()
		if tl, ok := isTooLarge(err); ok {
			c.tooLarge(tl)
			continue
		}
		if err != nil {
			if c.ctx.Err() != nil {
				c.fail(errConnClosed)
				return
			}
			if err == io.EOF {
				err = errors.New("the server closed the event stream")
			}
			c.fail(&StreamError{Err: err})
			return
		}
		if (ev.Event != "" && ev.Event != "message") || len(bytes.TrimSpace(ev.Data)) == 0 {
			continue
		}
		msg, perr := jsonrpc.Parse(ev.Data)
		if perr != nil {
			c.fail(&StreamError{Err: fmt.Errorf("%w (data %q)", perr, shortBody(ev.Data)), Garbage: true})
			return
		}
		if msg.IsResponse() {
			c.mu.Lock()
			ch := c.pending[jsonrpc.IDKey(msg.ID)]
			delete(c.pending, jsonrpc.IDKey(msg.ID))
			c.mu.Unlock()
			if ch != nil {
				ch <- callResult{msg: msg}
			}
			continue
		}
		c.opts.Inbound(msg, "")
	}
}

func (c *sseConn) post(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range c.opts.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if v := c.protocol.Load().(string); v != "" {
		req.Header.Set("MCP-Protocol-Version", v)
	}
	if err := c.opts.authorize(req); err != nil {
		return nil, err
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			if c.ctx.Err() != nil {
				return nil, c.closedErr()
			}
			return nil, ctx.Err()
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		sc := &streamableConn{}
		return nil, sc.statusError(resp, true)
	}
	// Some servers answer inline instead of on the stream.
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, c.opts.maxMessage()+1))
		if int64(len(b)) > c.opts.maxMessage() {
			return nil, c.opts.tooLarge(b)
		}
		if r, err := jsonrpc.Parse(b); err == nil && r.IsResponse() {
			return r, nil
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return nil, nil
}

// tooLarge routes a dropped event to the call it answered, when its first
// bytes or the calls waiting tell which; the session carries on.
func (c *sseConn) tooLarge(tl *jsonrpc.TooLargeError) {
	id, method := jsonrpc.HeadFromPrefix(tl.Prefix)
	c.mu.Lock()
	var ch chan callResult
	switch {
	case method != "":
	case id != nil:
		ch = c.pending[jsonrpc.IDKey(id)]
		delete(c.pending, jsonrpc.IDKey(id))
	case len(c.pending) == 1:
		// A response whose id comes after its large result: the one call
		// waiting is the only one it can answer.
		for k, p := range c.pending {
			ch = p
			delete(c.pending, k)
		}
	}
	c.mu.Unlock()
	if ch == nil {
		c.opts.logger().Warn("dropped a message over the size limit from the server", "method", method, "limit", tl.Limit)
		return
	}
	ch <- callResult{err: tl}
}

func (c *sseConn) closedErr() error {
	if err := c.err(); err != nil {
		return err
	}
	return errConnClosed
}

func (c *sseConn) call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	if c.ctx.Err() != nil {
		return nil, c.closedErr()
	}
	key := jsonrpc.IDKey(m.ID)
	ch := make(chan callResult, 1)
	c.mu.Lock()
	c.pending[key] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending[key] == ch {
			delete(c.pending, key)
		}
		c.mu.Unlock()
	}()
	// If the stream dies meanwhile, the POST still gets a moment to finish:
	// its status tells a request the server refused (retryable) from one
	// it accepted (lost with the stream).
	pctx, cancel := context.WithCancel(ctx)
	var grace *time.Timer
	var graceMu sync.Mutex
	stop := context.AfterFunc(c.ctx, func() {
		graceMu.Lock()
		grace = time.AfterFunc(2*time.Second, cancel)
		graceMu.Unlock()
	})
	defer func() {
		stop()
		graceMu.Lock()
		if grace != nil {
			grace.Stop()
		}
		graceMu.Unlock()
		cancel()
	}()
	inline, err := c.post(pctx, m)
	if err != nil {
		return nil, err
	}
	if inline != nil {
		return inline, nil
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, c.closedErr()
		}
		return r.msg, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.broken.done():
		return nil, c.closedErr()
	}
}

func (c *sseConn) send(ctx context.Context, m *jsonrpc.Message) error {
	if c.ctx.Err() != nil {
		return c.closedErr()
	}
	_, err := c.post(ctx, m)
	return err
}

func (c *sseConn) close() {
	c.fail(errConnClosed)
	c.wg.Wait()
	c.opts.Client.CloseIdleConnections()
}
