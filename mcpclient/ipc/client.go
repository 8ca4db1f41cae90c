package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mcptray/mcptray/mcpclient/paths"
)

// Error is the hub's answer to a control request that failed (a Reply with
// OK false): its words, and the JSON-RPC error code when the error has one.
//
// Code is a server's own code when a call or tools/list reached the server
// and it answered with an error, or one of mcptray's codes when the hub
// could not serve the request (the table is in mcpclient/jsonrpc: -32010
// upstream unavailable, -32011 needs login, -32013 server disabled, …).
// It is 0 for errors that are not JSON-RPC errors (an unknown server name,
// a failed sign-in) and for every error from hubs older than the field.
type Error struct {
	Code    int
	Message string
	// Hub is the hub that answered, when it said (hubs always do).
	Hub *HubInfo
}

func (e *Error) Error() string { return e.Message }

// ErrorCode returns the JSON-RPC error code.
func (e *Error) ErrorCode() int { return e.Code }

// ErrorCode returns the JSON-RPC error code that err carries: from an
// *Error, or from any error in its chain with an ErrorCode() int method
// (mcpclient.CallError, the hub's in-process answer). 0 means none.
func ErrorCode(err error) int {
	var c interface{ ErrorCode() int }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return 0
}

// err is the reply's failure as an *Error.
func (r *Reply) err() error {
	return &Error{Code: r.Code, Message: r.Error, Hub: r.Hub}
}

// Client is a typed client of the hub's control API. Every method opens a
// connection for one request. Errors are:
//   - ErrNoHub (wrapped) when nothing answers on the socket;
//   - an *UnsafeError when the socket is not this user's own (nothing sent);
//   - an *Error when the hub answered that the request failed;
//   - others when the connection broke or the answer was malformed.
//
// The bridge's attach is not a control request: it uses Open.
type Client struct {
	// Socket is the hub's socket path (paths.Socket).
	Socket string
	// Name tells the hub who asks, for its logs ("mcptray doctor", …).
	Name string
	// OnWait, when set, receives what a Call or Tools request waits for
	// while the hub holds it for a sign-in (once when the hold starts,
	// again when the sign-in URL or code changes). Hubs older than these
	// progress replies send none.
	OnWait func(Wait)
}

// Wait is what a request held for a sign-in waits for.
type Wait struct {
	// Message words it ("waiting for you to sign in to jira in your
	// browser (URL)").
	Message string
	// URL is the sign-in page; "" until the sign-in has one.
	URL string
	// DeviceCode is set when the device flow runs.
	DeviceCode *DeviceCode
}

// held sends a Call or Tools hello, asking for progress replies when
// OnWait is set.
func (c *Client) held(ctx context.Context, h Hello) (*Reply, error) {
	if c.OnWait == nil {
		return c.request(ctx, h)
	}
	h.Client, h.Progress = c.Name, true
	return Stream(ctx, c.Socket, h, func(r *Reply) {
		w := Wait{Message: r.Message, URL: r.URL}
		if r.UserCode != "" {
			w.DeviceCode = &DeviceCode{UserCode: r.UserCode, VerificationURI: r.VerificationURI, VerificationURIComplete: r.VerificationURIComplete}
		}
		c.OnWait(w)
	})
}

// NewClient returns a client of the hub on socket.
func NewClient(socket, name string) *Client {
	return &Client{Socket: socket, Name: name}
}

// DefaultClient is a client of this user's hub (paths.Home, paths.Socket).
func DefaultClient(name string) (*Client, error) {
	home, err := paths.Home()
	if err != nil {
		return nil, err
	}
	return NewClient(paths.Socket(home), name), nil
}

func (c *Client) request(ctx context.Context, h Hello) (*Reply, error) {
	h.Client = c.Name
	return Request(ctx, c.Socket, h)
}

// Ping asks the hub for its info.
func (c *Client) Ping(ctx context.Context) (*HubInfo, error) {
	rep, err := c.request(ctx, Hello{Op: OpPing})
	if err != nil {
		return nil, err
	}
	return rep.Hub, nil
}

// Status decodes the hub's status report (an *mcpclient.StatusReport)
// into v and returns the hub's info.
func (c *Client) Status(ctx context.Context, v any) (*HubInfo, error) {
	rep, err := c.request(ctx, Hello{Op: OpStatus})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(rep.Result, v); err != nil {
		return rep.Hub, fmt.Errorf("the hub sent a malformed status: %w", err)
	}
	return rep.Hub, nil
}

// Reconnect asks the hub to rebuild one server's session now.
func (c *Client) Reconnect(ctx context.Context, server string) error {
	_, err := c.request(ctx, Hello{Op: OpReconnect, Server: server})
	return err
}

// ReconnectAll asks the hub to rebuild every server's session now.
func (c *Client) ReconnectAll(ctx context.Context) error {
	_, err := c.request(ctx, Hello{Op: OpReconnect, All: true})
	return err
}

// Tools returns the server's tools/list result, raw.
func (c *Client) Tools(ctx context.Context, server string) (json.RawMessage, error) {
	rep, err := c.held(ctx, Hello{Op: OpTools, Server: server})
	if err != nil {
		return nil, err
	}
	return rep.Result, nil
}

// Call calls a tool with args (a JSON object; nil for none) and returns
// the raw tools/call result. A result with isError true is a result, not
// an error.
func (c *Client) Call(ctx context.Context, server, tool string, args json.RawMessage) (json.RawMessage, error) {
	rep, err := c.held(ctx, Hello{Op: OpCall, Server: server, Tool: tool, Args: args})
	if err != nil {
		return nil, err
	}
	return rep.Result, nil
}

// Login runs a browser sign-in for server in the hub and returns when it
// finished. onURL, when not nil, receives the sign-in URL (for when no
// browser opens). The hub stops the sign-in when ctx ends (the connection
// closes).
func (c *Client) Login(ctx context.Context, server string, onURL func(url string)) error {
	_, err := Stream(ctx, c.Socket, Hello{Op: OpLogin, Server: server, Client: c.Name}, func(r *Reply) {
		if r.URL != "" && onURL != nil {
			onURL(r.URL)
		}
	})
	return err
}

// Logout revokes and deletes server's stored credentials.
func (c *Client) Logout(ctx context.Context, server string) error {
	_, err := c.request(ctx, Hello{Op: OpLogout, Server: server})
	return err
}

// Handover asks a headless hub to stop so that a tray hub can take over.
// It returns once the hub agreed; the hub exits soon after.
func (c *Client) Handover(ctx context.Context) error {
	_, err := c.request(ctx, Hello{Op: OpHandover})
	return err
}

// Show asks a tray hub to show its window.
func (c *Client) Show(ctx context.Context) error {
	_, err := c.request(ctx, Hello{Op: OpShow})
	return err
}
