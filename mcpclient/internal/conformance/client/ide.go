package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// ---- elicitation: an IDE attached to the hub ---------------------------------

// elicitationDefaults attaches to the hub's socket as an IDE that declares
// the elicitation capability (a bridge's connection, spoken directly),
// calls the scenario's tool, and answers the server's elicitation/create,
// which the hub routes to it, accepting with the schema's defaults (SEP-1034).
func (c *client) elicitationDefaults(ctx context.Context) error {
	ide, err := attachIDE(ctx, c.hub.Socket(), c.log)
	if err != nil {
		return err
	}
	defer ide.close()
	initRes, err := ide.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{"elicitation": map[string]any{"form": map[string]any{}}},
		"clientInfo":      map[string]any{"name": "mcptray-conformance-ide", "version": "1.0.0"},
	})
	if err != nil {
		return err
	}
	c.log.Info("ide: initialized", "result", shorten(string(initRes)))
	if err := ide.notify("notifications/initialized", nil); err != nil {
		return err
	}
	tools, err := ide.call(ctx, "tools/list", nil)
	if err != nil {
		return err
	}
	if !strings.Contains(string(tools), `"test_client_elicitation_defaults"`) {
		return fmt.Errorf("tools/list lacks test_client_elicitation_defaults: %s", shorten(string(tools)))
	}
	res, err := ide.call(ctx, "tools/call", map[string]any{"name": "test_client_elicitation_defaults", "arguments": map[string]any{}})
	if err != nil {
		return err
	}
	if n := ide.elicitations.Load(); n != 1 {
		return fmt.Errorf("the IDE received %d elicitation requests, want 1", n)
	}
	return expectText(res, "Elicitation completed")
}

// ide is an MCP client session on the hub's socket (newline-delimited
// JSON-RPC, as a bridge relays it).
type ide struct {
	conn net.Conn
	log  *slog.Logger

	wmu    sync.Mutex
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[string]chan rpcMsg
	readErr error
	closed  chan struct{}

	elicitations atomic.Int64
}

type rpcMsg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func attachIDE(ctx context.Context, socket string, log *slog.Logger) (*ide, error) {
	conn, r, rep, err := ipc.Open(ctx, socket, ipc.Hello{Op: ipc.OpAttach, Server: serverName, Client: "conformance"})
	if err != nil {
		return nil, err
	}
	if !rep.OK {
		conn.Close()
		return nil, fmt.Errorf("attach refused: %s", rep.Error)
	}
	d := &ide{conn: conn, log: log, pending: map[string]chan rpcMsg{}, closed: make(chan struct{})}
	go d.read(r)
	return d, nil
}

func (d *ide) close() { d.conn.Close() }

func (d *ide) write(m rpcMsg) error {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err = d.conn.Write(append(b, '\n'))
	return err
}

func (d *ide) read(r *bufio.Reader) {
	defer close(d.closed)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			d.mu.Lock()
			d.readErr = err
			d.mu.Unlock()
			return
		}
		var m rpcMsg
		if err := json.Unmarshal(line, &m); err != nil {
			d.log.Warn("ide: unparsable line from the hub", "line", shorten(string(line)))
			continue
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			go d.serve(m)
		case m.Method != "":
			d.log.Info("ide: notification", "method", m.Method)
		default:
			d.mu.Lock()
			ch := d.pending[string(m.ID)]
			delete(d.pending, string(m.ID))
			d.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// serve answers a request the hub relays from the server.
func (d *ide) serve(m rpcMsg) {
	d.log.Info("ide: server request", "method", m.Method, "params", shorten(string(m.Params)))
	out := rpcMsg{ID: m.ID}
	switch m.Method {
	case "elicitation/create":
		d.elicitations.Add(1)
		content, err := schemaDefaults(m.Params)
		if err != nil {
			out.Error = &rpcError{Code: -32602, Message: err.Error()}
			break
		}
		out.Result, _ = json.Marshal(map[string]any{"action": "accept", "content": content})
	case "ping":
		out.Result = json.RawMessage(`{}`)
	default:
		out.Error = &rpcError{Code: -32601, Message: "method not found: " + m.Method}
	}
	if err := d.write(out); err != nil {
		d.log.Warn("ide: answering failed", "err", err)
	}
}

// schemaDefaults is what a user accepting a form without touching it
// sends: every property's default (SEP-1034).
func schemaDefaults(params json.RawMessage) (map[string]any, error) {
	var p struct {
		RequestedSchema struct {
			Properties map[string]struct {
				Default any `json:"default"`
			} `json:"properties"`
		} `json:"requestedSchema"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("elicitation params: %v", err)
	}
	out := map[string]any{}
	for name, prop := range p.RequestedSchema.Properties {
		if prop.Default != nil {
			out[name] = prop.Default
		}
	}
	return out, nil
}

func (d *ide) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := json.RawMessage(fmt.Sprint(d.nextID.Add(1)))
	ch := make(chan rpcMsg, 1)
	d.mu.Lock()
	d.pending[string(id)] = ch
	d.mu.Unlock()
	m := rpcMsg{ID: id, Method: method}
	if params != nil {
		m.Params, _ = json.Marshal(params)
	}
	if err := d.write(m); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return nil, fmt.Errorf("%s: error %d: %s", method, r.Error.Code, r.Error.Message)
		}
		d.log.Info("ide: call answered", "method", method, "result", shorten(string(r.Result)))
		return r.Result, nil
	case <-d.closed:
		d.mu.Lock()
		err := d.readErr
		d.mu.Unlock()
		return nil, fmt.Errorf("%s: the hub closed the session: %v", method, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

func (d *ide) notify(method string, params any) error {
	m := rpcMsg{Method: method}
	if params != nil {
		m.Params, _ = json.Marshal(params)
	}
	return d.write(m)
}
