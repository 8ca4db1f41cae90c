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
	ide, err := c.openIDE(ctx, map[string]any{"elicitation": map[string]any{"form": map[string]any{}}}, nil)
	if err != nil {
		return err
	}
	defer ide.close()
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

// openIDE attaches to the hub's socket as an IDE of the legacy era (a
// bridge's connection, spoken directly) that declares caps, and
// initializes. elicit, when set, is how its user answers elicitations.
func (c *client) openIDE(ctx context.Context, caps map[string]any, elicit func(*ide, json.RawMessage) (map[string]any, error)) (*ide, error) {
	d, err := attachIDE(ctx, c.hub.Socket(), c.log)
	if err != nil {
		return nil, err
	}
	if elicit != nil {
		d.elicit = func(p json.RawMessage) (map[string]any, error) { return elicit(d, p) }
	}
	initRes, err := d.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    caps,
		"clientInfo":      map[string]any{"name": "mcptray-conformance-ide", "version": "1.0.0"},
	})
	if err == nil {
		c.log.Info("ide: initialized", "result", shorten(string(initRes)))
		err = d.notify("notifications/initialized", nil)
	}
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
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
	// elicit, when set, answers elicitation/create in place of the
	// schema's defaults (a user filling in the form).
	elicit func(params json.RawMessage) (map[string]any, error)
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
		answer := schemaDefaults
		if d.elicit != nil {
			answer = d.elicit
		}
		content, err := answer(m.Params)
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

// ---- MRTR: input_required answered through the IDE --------------------------

// mrtrRequestState attaches as an IDE of the legacy era that declares
// elicitation and calls the scenario's tools. The server answers two of
// them with input_required results (2026-07-28's multi round-trip
// requests); the hub asks the IDE each elicitation as the server→client
// request a legacy IDE knows, and re-issues the call with the answers.
// While the first elicitation is open the IDE calls another tool, as an
// IDE calling tools side by side does: the hub must not mix the rounds of
// one call into the other.
func (c *client) mrtrRequestState(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	var unrelated atomic.Value // error of the call made during the first elicitation
	ide, err := c.openIDE(ctx, map[string]any{"elicitation": map[string]any{"form": map[string]any{}}}, func(ide *ide, params json.RawMessage) (map[string]any, error) {
		if ide.elicitations.Load() == 1 {
			res, err := ide.call(ctx, "tools/call", map[string]any{"name": "test_mrtr_unrelated", "arguments": map[string]any{}})
			if err == nil {
				err = expectText(res, "unrelated-ok")
			}
			unrelated.Store(fmt.Sprint(err))
		}
		return map[string]any{"confirmed": true}, nil
	})
	if err != nil {
		return err
	}
	defer ide.close()
	tools, err := ide.call(ctx, "tools/list", nil)
	if err != nil {
		return err
	}
	for _, want := range []string{"test_mrtr_echo_state", "test_mrtr_no_state", "test_mrtr_unrelated", "test_mrtr_no_result_type"} {
		if !strings.Contains(string(tools), `"`+want+`"`) {
			return fmt.Errorf("tools/list lacks %s: %s", want, shorten(string(tools)))
		}
	}
	for _, tc := range []struct{ tool, text string }{
		{"test_mrtr_echo_state", "echo-state-ok"},
		{"test_mrtr_no_state", "no-state-ok"},
		{"test_mrtr_no_result_type", "no-result-type-test-ok"},
	} {
		res, err := ide.call(ctx, "tools/call", map[string]any{"name": tc.tool, "arguments": map[string]any{}})
		if err != nil {
			return err
		}
		if err := expectText(res, tc.text); err != nil {
			return fmt.Errorf("%s: %w", tc.tool, err)
		}
	}
	if n := ide.elicitations.Load(); n != 2 {
		return fmt.Errorf("the IDE received %d elicitation requests, want 2", n)
	}
	if v, _ := unrelated.Load().(string); v != "<nil>" {
		return fmt.Errorf("test_mrtr_unrelated, called during an elicitation: %s", v)
	}
	return nil
}
