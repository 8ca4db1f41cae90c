package transport

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// The modern era (MCP revision 2026-07-28 and later) on Streamable HTTP:
// every message is a POST of its own, with no session id, no GET stream,
// no DELETE and no resumable streams. Each POST carries the
// MCP-Protocol-Version, Mcp-Method and (for tools/call, resources/read and
// prompts/get) Mcp-Name headers. A request's answer is a JSON body or an
// event stream scoped to it; a stream that breaks loses the request, and
// the caller re-issues it under a new id. Errors the revision defines come
// with 4xx statuses and a JSON-RPC error body: Call returns those as the
// request's answer, not as a transport error.
//
// What goes in _meta (the protocol version, client capabilities and
// client info) is the caller's business: the headers mirror the body.

// NewModern returns a Streamable HTTP connection in the modern era,
// speaking protocol version.
func NewModern(opts Options, version string) *StreamableConn {
	c := NewStreamable(opts)
	c.modern = true
	c.protocol.Store(version)
	return c
}

// Modern reports a connection in the modern era.
func (c *StreamableConn) Modern() bool { return c.modern }

// ProtocolVersion is the version the connection's headers name.
func (c *StreamableConn) ProtocolVersion() string { return c.protocol.Load().(string) }

// namedMethods are the requests whose Mcp-Name header the revision
// requires, from params.name or params.uri.
var namedMethods = map[string]string{
	"tools/call":     "name",
	"prompts/get":    "name",
	"resources/read": "uri",
}

// setModernHeaders mirrors the request's method and name into headers.
func setModernHeaders(h http.Header, m *jsonrpc.Message) {
	if m.Method == "" {
		return
	}
	h.Set("Mcp-Method", m.Method)
	field, ok := namedMethods[m.Method]
	if !ok {
		return
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil {
		return
	}
	var name string
	if json.Unmarshal(p[field], &name) != nil {
		return
	}
	h.Set("Mcp-Name", HeaderValue(name))
}

// HeaderValue encodes v for an Mcp-Name or Mcp-Param-* header: as it is
// when it is plain visible ASCII (spaces inside allowed), else in the
// revision's base64 sentinel form "=?base64?…?=" (also for a plain value
// that looks like the sentinel).
func HeaderValue(v string) string {
	safe := v == strings.TrimSpace(v)
	for i := 0; safe && i < len(v); i++ {
		b := v[i]
		safe = b == ' ' || b == '\t' || (b >= 0x21 && b <= 0x7e)
	}
	if safe && !(strings.HasPrefix(v, "=?base64?") && strings.HasSuffix(v, "?=")) {
		return v
	}
	return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

// DecodeHeaderValue undoes HeaderValue.
func DecodeHeaderValue(v string) (string, error) {
	if !strings.HasPrefix(v, "=?base64?") || !strings.HasSuffix(v, "?=") || len(v) < len("=?base64??=") {
		return v, nil
	}
	b, err := base64.StdEncoding.DecodeString(v[len("=?base64?") : len(v)-2])
	if err != nil {
		return "", fmt.Errorf("header value %q is not valid base64", v)
	}
	return string(b), nil
}

// modernErrorAnswer reads a non-2xx answer whose body is a JSON-RPC error
// (how a modern server reports a version, header or method problem) as
// the request's answer, its id set to the request's. Anything else (401,
// 403, 5xx, a body that is not such an error, as an OAuth-style
// {"error": "..."} is not) is left to statusError;
// nil means resp was not consumed.
func modernErrorAnswer(resp *http.Response, id json.RawMessage) *jsonrpc.Message {
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil
	}
	m, err := jsonrpc.Parse(b)
	if err != nil || m.Method != "" || !isErrorObject(m) {
		// Put the body back for statusError.
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		return nil
	}
	resp.Body.Close()
	m.ID = id
	return m
}

// isErrorObject reports a JSON-RPC 2.0 error response: its error an
// object with an integer code. An OAuth-style body ({"error":
// "insufficient_scope"}) from an authorization layer or a proxy parses as
// a message with an error too, but it is no answer of the MCP server's.
func isErrorObject(m *jsonrpc.Message) bool {
	if m.Error == nil || (m.JSONRPC != "" && m.JSONRPC != "2.0") {
		return false
	}
	var e struct {
		Code *int64 `json:"code"`
	}
	return json.Unmarshal(m.Error, &e) == nil && e.Code != nil
}

// ListenStream sends a long-lived request (subscriptions/listen) and reads
// its response stream until it ends: every notification on it goes to
// Options.Inbound with related set to the request's id. It returns nil
// when the server ended the stream with a response (a graceful close), and
// an error otherwise (ctx ended, the stream broke, or the server refused
// the request; a JSON-RPC error answer is a *RefusedError). The stream is
// not counted as a call in flight: Idle does not wait for it. acked, when
// set, is called once, when the server's
// notifications/subscriptions/acknowledged arrives (before Inbound gets
// it): from then on the stream delivers what the filter asked for.
func (c *StreamableConn) ListenStream(ctx context.Context, m *jsonrpc.Message, acked func()) error {
	if c.ctx.Err() != nil {
		return c.closedErr()
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
	resp, err := do(c.opts.Client, req)
	if err != nil {
		return c.ctxErr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if r := modernErrorAnswer(resp, m.ID); r != nil {
			return &RefusedError{Err: r.Error}
		}
		return c.statusError(resp, false)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/json" {
		r, err := c.readJSONResponse(ctx, resp.Body, m.ID)
		if err != nil {
			return err
		}
		if r.Error != nil {
			return &RefusedError{Err: r.Error}
		}
		return nil
	}
	if ct != "text/event-stream" {
		return &StreamError{Err: fmt.Errorf("unexpected content type %q for %s", resp.Header.Get("Content-Type"), m.Method)}
	}
	want := jsonrpc.IDKey(m.ID)
	sr := newSSEReader(resp.Body, c.opts.maxMessage())
	for {
		ev, err := sr.Next()
		if err != nil {
			if ctx.Err() != nil {
				return c.ctxErr(ctx, err)
			}
			if _, ok := IsTooLarge(err); ok {
				continue
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return &StreamError{Err: fmt.Errorf("%s stream ended: %w", m.Method, err)}
		}
		if (ev.Event != "" && ev.Event != "message") || len(strings.TrimSpace(string(ev.Data))) == 0 {
			continue
		}
		msg, perr := jsonrpc.Parse(ev.Data)
		if perr != nil {
			return &StreamError{Err: fmt.Errorf("%w (data %q)", perr, ShortBody(ev.Data)), Garbage: true}
		}
		switch {
		case msg.IsResponse() && jsonrpc.IDKey(msg.ID) == want:
			if msg.Error != nil {
				return &RefusedError{Err: msg.Error}
			}
			return nil
		case msg.IsNotification():
			if acked != nil && msg.Method == "notifications/subscriptions/acknowledged" {
				acked()
				acked = nil
			}
			c.opts.Inbound(msg, want)
		}
	}
}

// RefusedError is a JSON-RPC error a server answered a long-lived request
// with.
type RefusedError struct{ Err json.RawMessage }

func (e *RefusedError) Error() string {
	var je jsonrpc.Error
	if json.Unmarshal(e.Err, &je) == nil && je.Message != "" {
		return fmt.Sprintf("refused (%d): %s", je.Code, je.Message)
	}
	return "refused: " + ShortBody(e.Err)
}

type headersKey struct{}

// WithHeaders returns a context whose requests carry h besides the
// connection's own headers (a tools/call's Mcp-Param-* headers).
func WithHeaders(ctx context.Context, h http.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return context.WithValue(ctx, headersKey{}, h)
}

func extraHeaders(ctx context.Context) http.Header {
	h, _ := ctx.Value(headersKey{}).(http.Header)
	return h
}
