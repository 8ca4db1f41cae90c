package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// listenBackoff spaces the GET stream's attempts after failures.
var listenBackoff = Backoff{Base: 2 * time.Second, Cap: 30 * time.Second, Jitter: 0.2}

// Listen keeps the standalone GET stream open for server-initiated
// messages. A server that does not offer it (405/404) is fine. reopened,
// when not nil, is called (from Listen's goroutine) each time a stream
// opens after an earlier one of this connection ended: what the server
// sent in between may be lost, unless it replays it for the
// Last-Event-ID sent, which the client cannot tell.
func (c *StreamableConn) Listen(reopened func()) {
	c.wg.Go(func() {
		lastID := ""
		failures := 0
		opened := false
		onOpen := func() {
			if opened && reopened != nil {
				reopened()
			}
			opened = true
		}
		for c.ctx.Err() == nil {
			wait, stop := c.listenOnce(&lastID, onOpen)
			if stop {
				return
			}
			if wait == 0 {
				failures = 0
				wait = 200 * time.Millisecond
			} else {
				failures++
				wait = max(wait, listenBackoff.Delay(failures))
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
	})
}

// listenOnce runs one GET stream, calling onOpen once it is open. It
// returns how long to wait before the next one (0 after a clean end) or
// stop.
func (c *StreamableConn) listenOnce(lastID *string, onOpen func()) (wait time.Duration, stop bool) {
	req, err := c.newRequest(c.ctx, http.MethodGet, nil, nil)
	if err != nil {
		return 0, true
	}
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := do(c.opts.Client, req)
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
		err := c.statusError(resp, c.SessionID() != "")
		var se *SessionError
		var ae *AuthError
		if errors.As(err, &se) || errors.As(err, &ae) {
			c.fail(err)
			return 0, true
		}
		return time.Second, false
	}
	defer resp.Body.Close()
	onOpen()
	sr := newSSEReader(resp.Body, c.opts.maxMessage())
	for {
		ev, err := sr.Next()
		if sr.lastID != "" {
			*lastID = sr.lastID
		}
		if err == io.EOF {
			return 0, false
		}
		if tl, ok := IsTooLarge(err); ok {
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
			c.fail(&StreamError{Err: fmt.Errorf("standalone stream: %w (data %q)", perr, ShortBody(ev.Data)), Garbage: true})
			return 0, true
		}
		if msg.IsResponse() {
			continue
		}
		c.opts.Inbound(msg, "")
	}
}
