package mcpclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

func (h *Hub) handleConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The hub's end ends the wait for the hello too (Run waits for this
	// handler); the helper that says so is waited for.
	expired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(expired)
		_ = c.SetReadDeadline(time.Unix(1, 0))
	})
	r := bufio.NewReaderSize(c, 64<<10)
	line, err := jsonrpc.ReadLine(r, maxHelloSize)
	if !stop() {
		<-expired
	}
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var hello ipc.Hello
	reply := func(rep ipc.Reply) {
		rep.Error = h.secrets.Scrub(rep.Error)
		rep.Hub = h.info()
		b, _ := json.Marshal(rep)
		_, _ = c.Write(append(b, '\n'))
	}
	if err := json.Unmarshal(line, &hello); err != nil || hello.Op == "" {
		reply(ipc.Reply{Error: "mcptray: expected a hello line ({\"mcptray\":\"attach\",\"server\":NAME}) first"})
		return
	}
	if hello.Op == ipc.OpAttach {
		u, err := h.server(hello.Server)
		if err != nil {
			reply(ipc.Reply{Error: err.Error()})
			return
		}
		reply(ipc.Reply{OK: true, MaxMessage: u.limits().MaxMessageSize})
		d := newDownstream(ctx, u, c, h.log.With("server", u.name, "bridgePid", hello.PID))
		d.serve(r)
		return
	}
	if hello.Op == ipc.OpLogin {
		h.serveLogin(ctx, hello, c, r, reply) // login_control.go
		return
	}
	cctx := ctx
	var progress *progressReplies
	if hello.Op == ipc.OpCall || hello.Op == ipc.OpTools {
		// A held request ends when its client does (control_cancel.go),
		// and tells a client that asks what it waits for.
		var stop func()
		cctx, stop = whileClientStays(ctx, c, r)
		defer stop()
		if hello.Progress {
			progress = &progressReplies{send: reply, scrub: h.secrets.Scrub}
			cctx = withHoldWatcher(cctx, progress.wait)
			defer progress.end()
		}
	}
	res, err := h.control(cctx, hello)
	progress.end() // no progress reply after the final one
	if err != nil {
		reply(ipc.Reply{Error: err.Error(), Code: ipc.ErrorCode(err)})
		return
	}
	reply(ipc.Reply{OK: true, Result: res})
	if hello.Op == ipc.OpHandover {
		h.handOver() // now that the reply is written
	}
}

// handOver makes Run stop for a tray hub (once).
func (h *Hub) handOver() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.handover:
	default:
		close(h.handover)
	}
}

// Reconnect rebuilds one server's session now ("" with all = every server).
func (h *Hub) Reconnect(name string, all bool) error {
	if all {
		h.mu.Lock()
		for _, u := range h.servers {
			u.reconnect()
		}
		h.mu.Unlock()
		return nil
	}
	u, err := h.server(name)
	if err != nil {
		return err
	}
	u.reconnect()
	return nil
}

// Call sends one request to a server, as an IDE would, and returns the raw
// response line's result, or for an error response a *CallError with its
// code and the server's (or mcptray's) words.
func (h *Hub) Call(ctx context.Context, name, method string, params json.RawMessage) (json.RawMessage, error) {
	u, err := h.server(name)
	if err != nil {
		return nil, err
	}
	line := u.forward(ctx, nil, &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: params})
	if line == nil {
		return nil, ctx.Err()
	}
	m, err := jsonrpc.Parse(line)
	if err != nil {
		return nil, err
	}
	if m.Error != nil {
		var e jsonrpc.Error
		_ = json.Unmarshal(m.Error, &e)
		ce := &CallError{Code: e.Code, Message: e.Message}
		if e.Code == jsonrpc.CodeNeedsLogin {
			ce.SigningIn = u.signingIn()
		}
		return nil, ce
	}
	return m.Result, nil
}

func (h *Hub) control(ctx context.Context, hello ipc.Hello) (json.RawMessage, error) {
	switch hello.Op {
	case ipc.OpPing:
		return nil, nil
	case ipc.OpStatus:
		return json.Marshal(h.Status())
	case ipc.OpReconnect:
		return nil, h.Reconnect(hello.Server, hello.All)
	case ipc.OpTools:
		return h.Call(ctx, hello.Server, "tools/list", nil)
	case ipc.OpCall:
		args := hello.Args
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(args, &probe); err != nil {
			return nil, fmt.Errorf("mcptray: tool arguments must be a JSON object: %v", err)
		}
		params, _ := json.Marshal(map[string]json.RawMessage{"name": mustJSON(hello.Tool), "arguments": args})
		return h.Call(ctx, hello.Server, "tools/call", params)
	case ipc.OpLogout:
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return nil, h.Logout(lctx, hello.Server)
	case ipc.OpHandover:
		if h.opts.Mode == "tray" {
			return nil, errors.New("mcptray: this hub is the tray app; it does not hand over")
		}
		return nil, nil // handleConn hands over once the reply is written
	case ipc.OpShow:
		if h.opts.OnShow == nil {
			return nil, errors.New("mcptray: this hub runs headless and has no window")
		}
		h.opts.OnShow()
		return nil, nil
	}
	return nil, fmt.Errorf("mcptray: unknown request %q", hello.Op)
}

// StatusReport is the control API's status answer.
type StatusReport struct {
	Config            string         `json:"config"`
	ConfigError       string         `json:"configError,omitempty"`
	CredentialStore   string         `json:"credentialStore,omitempty"`
	CredentialWarning string         `json:"credentialWarning,omitempty"`
	HTTP              HTTPStatus     `json:"http"`
	Servers           []ServerStatus `json:"servers"`
}

// Status is the whole hub's status.
func (h *Hub) Status() StatusReport {
	st := StatusReport{Servers: h.Snapshot(true), ConfigError: h.ConfigError(), Config: h.opts.ConfigPath, HTTP: h.HTTPStatus()}
	h.mu.Lock()
	c := h.creds
	h.mu.Unlock()
	if c != nil {
		st.CredentialStore, st.CredentialWarning = c.describe()
	}
	return st
}

// Login runs a browser sign-in for a server (joining one that runs) and
// returns when it finished; onURL receives the URL to open by hand.
func (h *Hub) Login(ctx context.Context, name string, onURL func(string)) error {
	u, err := h.server(name)
	if err != nil {
		return err
	}
	return h.secrets.ScrubError(u.Login(ctx, onURL, true))
}

// Logout revokes and deletes a server's credentials.
func (h *Hub) Logout(ctx context.Context, name string) error {
	u, err := h.server(name)
	if err != nil {
		return err
	}
	return h.secrets.ScrubError(u.Logout(ctx))
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// EditConfig changes the config file through fn, validates the result with
// the same rules as loading, writes it atomically and applies it. Edits are
// serialized across processes under the config's edit lock, and the file
// is re-read under it, so other edits and edits made by hand meanwhile are
// kept (see EditConfigFile, in configedit.go; fn may run more than once).
func (h *Hub) EditConfig(fn func(*config.Config) error) error {
	if err := config.Edit(h.opts.ConfigPath, fn); err != nil {
		return err
	}
	return h.Reload()
}

// SetEnabled enables or disables a server in the config.
func (h *Hub) SetEnabled(name string, enabled bool) error {
	return h.EditConfig(func(c *config.Config) error {
		sc, ok := c.Servers[name]
		if !ok {
			return fmt.Errorf("mcptray: no server named %q in %s", name, h.opts.ConfigPath)
		}
		sc.Disabled = !enabled
		c.Servers[name] = sc
		return nil
	})
}
