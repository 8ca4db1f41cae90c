package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// SSEConn is the legacy HTTP+SSE transport (2024-11-05): one event
// stream carries every answer, each request is a POST to the endpoint
// the stream named.
type SSEConn struct {
	opts     Options
	ctx      context.Context
	cancel   context.CancelFunc
	endpoint string
	protocol atomic.Value
	broken   Broken
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

// DialSSE opens the event stream and waits for the endpoint event.
func DialSSE(ctx context.Context, opts Options) (*SSEConn, error) {
	cctx, cancel := context.WithCancel(context.Background())
	c := &SSEConn{opts: opts, ctx: cctx, cancel: cancel, broken: NewBroken(), pending: map[string]chan callResult{}}
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
	resp, err := do(opts.Client, req)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		sc := &StreamableConn{}
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
		if _, ok := IsTooLarge(err); ok {
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
			return nil, &StreamError{Err: fmt.Errorf("bad endpoint event %q", ShortBody(ev.Data)), Garbage: true}
		}
		base, _ := url.Parse(opts.URL)
		c.endpoint = base.ResolveReference(ep).String()
		break
	}
	c.wg.Add(1)
	go c.read(resp.Body, sr)
	return c, nil
}

func (c *SSEConn) Idle() <-chan struct{}       { return closedChan }
func (c *SSEConn) Done() <-chan struct{}       { return c.broken.Done() }
func (c *SSEConn) Err() error                  { return c.broken.Err() }
func (c *SSEConn) SetProtocolVersion(v string) { c.protocol.Store(v) }

func (c *SSEConn) SessionID() string {
	if u, err := url.Parse(c.endpoint); err == nil {
		if s := u.Query().Get("sessionId"); s != "" {
			return s
		}
		return u.Query().Get("session_id")
	}
	return ""
}

func (c *SSEConn) fail(err error) {
	c.broken.Fail(err)
	c.cancel()
	c.mu.Lock()
	for k, ch := range c.pending {
		close(ch)
		delete(c.pending, k)
	}
	c.mu.Unlock()
}

func (c *SSEConn) read(body io.ReadCloser, sr *sseReader) {
	defer c.wg.Done()
	defer body.Close()
	for {
		ev, err := sr.Next()
		if tl, ok := IsTooLarge(err); ok {
			c.tooLarge(tl)
			continue
		}
		if err != nil {
			if c.ctx.Err() != nil {
				c.fail(ErrConnClosed)
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
			c.fail(&StreamError{Err: fmt.Errorf("%w (data %q)", perr, ShortBody(ev.Data)), Garbage: true})
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

func (c *SSEConn) post(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
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
	resp, err := do(c.opts.Client, req)
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
		sc := &StreamableConn{}
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
func (c *SSEConn) tooLarge(tl *jsonrpc.TooLargeError) {
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

func (c *SSEConn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrConnClosed
}

func (c *SSEConn) Call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	if c.ctx.Err() != nil {
		return nil, &UnsentError{c.closedErr()} // never sent: may be retried
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
	graceSet := make(chan struct{})
	stop := context.AfterFunc(c.ctx, func() {
		defer close(graceSet)
		graceMu.Lock()
		grace = time.AfterFunc(2*time.Second, cancel)
		graceMu.Unlock()
	})
	defer func() {
		if !stop() {
			<-graceSet // the call does not return before its helper
		}
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
	case <-c.broken.Done():
		return nil, c.closedErr()
	}
}

func (c *SSEConn) Send(ctx context.Context, m *jsonrpc.Message) error {
	if c.ctx.Err() != nil {
		return c.closedErr()
	}
	_, err := c.post(ctx, m)
	return err
}

func (c *SSEConn) Close() {
	c.fail(ErrConnClosed)
	c.wg.Wait()
	c.opts.Client.CloseIdleConnections()
}
