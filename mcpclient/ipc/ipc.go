// Package ipc is the hub's local socket protocol: that the socket is this
// user's own (paths.Socket says where it lives), the hello line that opens
// every connection, and Client, the typed client of the control API that
// the CLI, doctor and the tray share. It uses only the standard library
// and mcpclient/paths, so that the bridge binary stays small.
//
// Every connection starts with one JSON line from the client, a Hello, and
// one JSON line from the hub, a Reply. For "attach" the connection then
// carries newline-delimited JSON-RPC (MCP stdio framing) for one MCP
// session; for every other op it closes after the reply (login sends
// progress replies first). A failed request's Reply carries the hub's
// words and, for JSON-RPC errors, their code; clients get it as an *Error.
// Fields are only ever added, so that old bridges and CLIs work with a new
// hub and the other way round.
package ipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Ops a Hello may carry.
const (
	OpAttach    = "attach"    // become an MCP session of Server
	OpStatus    = "status"    // Result: the hub's mcpclient.StatusReport (config, credential store, servers)
	OpReconnect = "reconnect" // Server, or All
	OpTools     = "tools"     // Result: the raw tools/list result of Server
	OpCall      = "call"      // Tool, Args; Result: the raw tools/call result
	OpPing      = "ping"      // Result: hub info
	OpHandover  = "handover"  // ask a headless hub to stop and let a tray hub take over
	OpShow      = "show"      // ask a tray hub to show its window
	OpLogin     = "login"     // browser sign-in for Server: progress replies (URL), then the result
	OpLogout    = "logout"    // revoke and delete Server's credentials
)

// Hello is the first line a client sends.
type Hello struct {
	Op     string          `json:"mcptray"`
	Server string          `json:"server,omitempty"`
	All    bool            `json:"all,omitempty"`
	Tool   string          `json:"tool,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
	PID    int             `json:"pid,omitempty"`
	Client string          `json:"client,omitempty"`
	// NoBrowser (OpLogin): open no browser; sign in with the device grant
	// when the server offers it, else by pasting the redirect URL back.
	NoBrowser bool `json:"noBrowser,omitempty"`
	// Progress (OpCall, OpTools): the client reads progress replies before
	// the final one; the hub sends them while the request is held for a
	// sign-in (what it waits for). Without it the hub sends only the final
	// reply, as older hubs always do.
	Progress bool `json:"progress,omitempty"`
}

// Pasted is a line a login client sends after its Hello (OpLogin): the
// redirect URL the user pasted back.
type Pasted struct {
	RedirectURL string `json:"redirectUrl"`
}

// Reply is the hub's answer to a Hello.
type Reply struct {
	OK bool `json:"ok"`
	// Progress marks an intermediate reply (OpLogin; OpCall and OpTools
	// when the Hello asked for them); a final one follows.
	Progress bool   `json:"progress,omitempty"`
	URL      string `json:"url,omitempty"`
	// Message (OpCall, OpTools progress) words what a request held for a
	// sign-in waits for; URL is the sign-in page, UserCode and
	// VerificationURI the device code when the device flow runs.
	Message string `json:"message,omitempty"`
	// Device sign-in (OpLogin progress): the code to enter and where.
	UserCode                string `json:"userCode,omitempty"`
	VerificationURI         string `json:"verificationUri,omitempty"`
	VerificationURIComplete string `json:"verificationUriComplete,omitempty"`
	// Paste (OpLogin progress): the hub waits for the redirect URL to be
	// pasted back (a Pasted line); PasteError says why the last one was
	// not accepted.
	Paste      bool   `json:"paste,omitempty"`
	PasteError string `json:"pasteError,omitempty"`

	Error string `json:"error,omitempty"`
	// Code is the JSON-RPC error code of Error, when the hub's error has
	// one (a server's error response, or mcptray's own codes such as
	// -32011 needs login); 0 otherwise, and from hubs older than the field.
	Code   int             `json:"code,omitempty"`
	Hub    *HubInfo        `json:"hub,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	// MaxMessage is the attached server's message size limit in bytes
	// (OpAttach): the bridge skips and answers larger IDE lines itself.
	MaxMessage int64 `json:"maxMessage,omitempty"`
}

// HubInfo describes the running hub.
type HubInfo struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
	Mode    string `json:"mode"` // "headless" or "tray"
	Config  string `json:"config"`
	Socket  string `json:"socket"`
	Started int64  `json:"started"` // unix seconds
}

// ErrNoHub means nothing answers on the socket.
var ErrNoHub = errors.New("no mcptray hub is running")

// Dial connects to the hub's socket. It first checks that the socket is
// this user's own (on unix: the socket file and its directory belong to
// this uid and others cannot write to the directory) and, where the OS
// tells (Linux), that the process serving it runs as this uid; otherwise
// it returns an *UnsafeError and nothing is sent.
func Dial(ctx context.Context, socket string) (net.Conn, error) {
	if err := checkSocket(socket); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (socket %s): %v", ErrNoHub, socket, err)
	}
	if err := checkServer(c, socket); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Open dials, sends hello and reads the reply. The reader keeps what the
// hub sent after the reply line.
func Open(ctx context.Context, socket string, h Hello) (net.Conn, *bufio.Reader, *Reply, error) {
	c, err := Dial(ctx, socket)
	if err != nil {
		return nil, nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if h.PID == 0 {
		h.PID = os.Getpid()
	}
	b, _ := json.Marshal(h)
	if _, err := c.Write(append(b, '\n')); err != nil {
		c.Close()
		return nil, nil, nil, fmt.Errorf("talking to the hub: %w", err)
	}
	r := bufio.NewReaderSize(c, 64<<10)
	line, err := r.ReadBytes('\n')
	if err != nil {
		c.Close()
		return nil, nil, nil, fmt.Errorf("the hub closed the connection without answering: %w", err)
	}
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		c.Close()
		return nil, nil, nil, fmt.Errorf("the hub sent a malformed reply: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, r, &rep, nil
}

// Request sends a one-shot hello and returns the reply; a reply with
// OK false is returned with an *Error carrying the hub's words and code.
// Control clients use Client, which wraps it.
func Request(ctx context.Context, socket string, h Hello) (*Reply, error) {
	c, _, rep, err := Open(ctx, socket, h)
	if err != nil {
		return nil, err
	}
	c.Close()
	if !rep.OK {
		return rep, rep.err()
	}
	return rep, nil
}

// Stream sends a hello and passes each progress reply to onProgress until
// the final reply, which it returns (an OK false reply with an *Error).
func Stream(ctx context.Context, socket string, h Hello, onProgress func(*Reply)) (*Reply, error) {
	c, r, rep, err := Open(ctx, socket, h)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	for rep.Progress {
		if onProgress != nil {
			onProgress(rep)
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("the hub closed the connection: %w", err)
		}
		rep = &Reply{}
		if err := json.Unmarshal(line, rep); err != nil {
			return nil, fmt.Errorf("the hub sent a malformed reply: %w", err)
		}
	}
	if !rep.OK {
		return rep, rep.err()
	}
	return rep, nil
}
