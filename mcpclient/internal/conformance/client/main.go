// Command client is the client under test of the MCP conformance suite
// (@modelcontextprotocol/conformance, `conformance client --command ...`).
//
// The suite starts a test server for one scenario and runs this program
// with the server's URL as the last argument and the scenario's name in
// MCP_CONFORMANCE_SCENARIO (scenario data such as pre-registered client
// credentials in MCP_CONFORMANCE_CONTEXT). The program then acts as a user
// of mcptray would: it writes a config with one server pointing at the URL,
// runs an in-process hub with the product's own supervisor, transports and
// OAuth (mcpclient and auth), signs in through the hub's loopback callback
// listener with an HTTP client playing the browser, and calls the server
// through the hub's public API (or, for elicitation, as an IDE attached to
// the hub's socket). It exits non-zero when the scenario's calls fail.
//
// It is internal: a test tool, not a product command.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// serverName is the name of the one configured server.
const serverName = "srv"

// overall bounds one run; the suite's own timeout is 30 s by default.
const overall = 25 * time.Second

// clientMetadataURL is the client ID metadata document URL the suite's
// authorization servers accept (SEP-991; the suite's own clients use it).
// It stands in for the URL of mcptray's published document.
const clientMetadataURL = "https://conformance-test.local/client-metadata.json"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: MCP_CONFORMANCE_SCENARIO=NAME client SERVER_URL")
		os.Exit(2)
	}
	serverURL := os.Args[len(os.Args)-1]
	scenario := os.Getenv("MCP_CONFORMANCE_SCENARIO")
	ctx, cancel := context.WithTimeout(context.Background(), overall)
	err := run(ctx, scenario, serverURL)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance client: scenario %q: %v\n", scenario, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "conformance client: scenario %q: ok\n", scenario)
}

// client is one run: a hub with one server, and a "browser".
type client struct {
	hub     *mcpclient.Hub
	log     *slog.Logger
	browsed atomic.Int64 // finished browser visits of an authorization URL
}

func run(ctx context.Context, scenario, serverURL string) error {
	dir, err := os.MkdirTemp("", "mcc") // short: the hub's socket lives here
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	entry := map[string]any{"url": serverURL}
	if oauth, err := oauthFromContext(scenario); err != nil {
		return err
	} else if oauth != nil {
		entry["oauth"] = oauth
	}
	cfg, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{serverName: entry}}, "", "  ")
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &client{log: log}
	home := filepath.Join(dir, "home")
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{
		ConfigPath:      cfgPath,
		Home:            home,
		Logger:          log,
		CredentialStore: auth.NewFileStore(paths.Credentials(home)),
		OpenBrowser:     c.browse,
		// Used only with authorization servers that advertise
		// client_id_metadata_document_supported; others get a dynamic
		// registration.
		ClientMetadataURL: clientMetadataURL,
		Tuning: mcpclient.Tuning{
			HoldTimeout:      10 * time.Second,
			ConnectTimeout:   5 * time.Second,
			ProbeInterval:    time.Minute, // no pings: scenarios count requests
			ProbeTimeout:     2 * time.Second,
			FirstConnectWait: 3 * time.Second,
			Backoff:          mcpclient.Backoff{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond, Jitter: 0.2},
		},
	})
	if err != nil {
		return err
	}
	c.hub = hub
	hctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(hctx) }()
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			log.Warn("the hub did not stop within 5 s")
		}
	}()
	if err := c.waitHub(ctx, done); err != nil {
		return err
	}

	switch {
	case scenario == "elicitation-sep1034-client-defaults":
		return c.elicitationDefaults(ctx)
	case scenario == "initialize":
		return c.initialize(ctx)
	case scenario == "tools_call":
		return c.toolsCall(ctx)
	case scenario == "sse-retry":
		return c.sseRetry(ctx)
	case strings.HasPrefix(scenario, "auth/"):
		return c.authFlow(ctx)
	}
	return fmt.Errorf("unknown scenario %q", scenario)
}

// oauthFromContext turns the suite's scenario context into the server's
// oauth config entry: pre-registered client credentials, as a user would
// write them into the config.
func oauthFromContext(scenario string) (map[string]any, error) {
	raw := os.Getenv("MCP_CONFORMANCE_CONTEXT")
	if raw == "" {
		return nil, nil
	}
	var ctx struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(raw), &ctx); err != nil {
		return nil, fmt.Errorf("MCP_CONFORMANCE_CONTEXT is not valid JSON: %v", err)
	}
	if scenario != "auth/pre-registration" || ctx.ClientID == "" {
		return nil, nil
	}
	return map[string]any{"clientId": ctx.ClientID, "clientSecret": ctx.ClientSecret}, nil
}

// browse is the hub's OpenBrowser: it plays a browser that the user signs
// in with at once. It GETs the authorization URL and follows the redirects
// to the hub's real loopback callback listener, which exchanges the code.
func (c *client) browse(ctx context.Context, authURL string) error {
	defer c.browsed.Add(1)
	hc := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	// A browser shows whatever page it lands on; the login's outcome is
	// the hub's to report.
	c.log.Info("browser: landed", "url", redact(resp.Request.URL.String()), "status", resp.StatusCode, "page", pageText(body))
	return nil
}

// waitHub waits until the hub serves its socket and knows the server.
func (c *client) waitHub(ctx context.Context, done <-chan error) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := ipc.NewClient(c.hub.Socket(), "conformance").Ping(pctx)
		cancel()
		if err == nil && len(c.hub.Snapshot(false)) == 1 {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("the hub exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("the hub did not come up: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (c *client) status() mcpclient.ServerStatus {
	for _, s := range c.hub.Snapshot(false) {
		if s.Name == serverName {
			return s
		}
	}
	return mcpclient.ServerStatus{}
}

// settle waits until the server is connected, needs a login, or failed.
func (c *client) settle(ctx context.Context) (mcpclient.ServerStatus, error) {
	for {
		st := c.status()
		switch st.State {
		case mcpclient.StateConnected, mcpclient.StateNeedsLogin, mcpclient.StateFailed:
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("server still %s (%s)", st.State, st.LastError)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ready brings the server to connected, signing in (as `mcptray login srv`
// does) when it needs a login.
func (c *client) ready(ctx context.Context) error {
	st, err := c.settle(ctx)
	if err != nil {
		return err
	}
	switch st.State {
	case mcpclient.StateConnected:
		return nil
	case mcpclient.StateFailed:
		return fmt.Errorf("server failed: %s", st.LastError)
	}
	c.log.Info("client: the server needs a sign-in; signing in")
	if err := c.hub.Login(ctx, serverName, nil); err != nil {
		return err
	}
	return c.waitConnected(ctx)
}

func (c *client) waitConnected(ctx context.Context) error {
	for {
		st := c.status()
		switch st.State {
		case mcpclient.StateConnected:
			return nil
		case mcpclient.StateNeedsLogin, mcpclient.StateFailed:
			return fmt.Errorf("server is %s after signing in: %s", st.State, st.LastError)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server still %s (%s)", st.State, st.LastError)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// call sends one request through the hub. When the hub answers that a
// sign-in is needed (CodeNeedsLogin), it does what the message tells a user
// to do: wait for the sign-in under way (the browser window mcptray opened),
// or sign in, then try again. The number of tries is bounded.
func (c *client) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	var raw json.RawMessage
	if params != nil {
		raw, _ = json.Marshal(params)
	}
	for attempt := 1; ; attempt++ {
		browsed := c.browsed.Load()
		res, err := c.hub.Call(ctx, serverName, method, raw)
		if err == nil {
			c.log.Info("client: call answered", "method", method, "result", shorten(string(res)))
			return res, nil
		}
		c.log.Info("client: call failed", "method", method, "attempt", attempt, "err", err)
		var ce *mcpclient.CallError
		if attempt >= 5 || !errors.As(err, &ce) || ce.Code != jsonrpc.CodeNeedsLogin {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if ce.SigningIn {
			if err := c.waitBrowserLogin(ctx, browsed); err != nil {
				return nil, fmt.Errorf("%s: %w", method, err)
			}
		} else if err := c.ready(ctx); err != nil {
			return nil, fmt.Errorf("%s: signing in: %w", method, err)
		}
	}
}

// waitBrowserLogin waits for a sign-in the hub started on its own: the
// browser visit, then a new session.
func (c *client) waitBrowserLogin(ctx context.Context, before int64) error {
	for {
		st := c.status()
		if c.browsed.Load() > before {
			switch st.State {
			case mcpclient.StateConnected:
				return nil
			case mcpclient.StateNeedsLogin:
				return c.ready(ctx)
			case mcpclient.StateFailed:
				return fmt.Errorf("server failed: %s", st.LastError)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the hub's sign-in: server %s (%s)", st.State, st.LastError)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ---- scenarios ---------------------------------------------------------------

// initialize: the hub's supervisor initializes the session; list tools.
func (c *client) initialize(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	_, err := c.call(ctx, "tools/list", nil)
	return err
}

// toolsCall: list the tools and call add_numbers.
func (c *client) toolsCall(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.expectTool(ctx, "add_numbers"); err != nil {
		return err
	}
	res, err := c.call(ctx, "tools/call", map[string]any{"name": "add_numbers", "arguments": map[string]any{"a": 2, "b": 3}})
	if err != nil {
		return err
	}
	return expectText(res, "5")
}

// sseRetry: the tools/call response stream is closed after a priming event
// with retry: 500; the answer comes on the resumed (GET) stream.
func (c *client) sseRetry(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.expectTool(ctx, "test_reconnection"); err != nil {
		return err
	}
	res, err := c.call(ctx, "tools/call", map[string]any{"name": "test_reconnection", "arguments": map[string]any{}})
	if err != nil {
		return err
	}
	return expectText(res, "Reconnection test completed successfully")
}

// authFlow: what the suite's well-behaved auth client does: connect (signing
// in), list the tools, call test-tool.
func (c *client) authFlow(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	if _, err := c.call(ctx, "tools/list", nil); err != nil {
		return err
	}
	_, err := c.call(ctx, "tools/call", map[string]any{"name": "test-tool", "arguments": map[string]any{}})
	return err
}

func (c *client) expectTool(ctx context.Context, name string) error {
	res, err := c.call(ctx, "tools/list", nil)
	if err != nil {
		return err
	}
	var tl struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res, &tl); err != nil {
		return fmt.Errorf("tools/list result: %v", err)
	}
	for _, t := range tl.Tools {
		if t.Name == name {
			return nil
		}
	}
	return fmt.Errorf("tools/list has no tool %q: %s", name, shorten(string(res)))
}

// expectText checks that a tools/call result is no error and that its text
// contains want.
func expectText(res json.RawMessage, want string) error {
	var r struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("tools/call result: %v", err)
	}
	var texts []string
	for _, c := range r.Content {
		texts = append(texts, c.Text)
	}
	text := strings.Join(texts, "\n")
	if r.IsError || !strings.Contains(text, want) {
		return fmt.Errorf("tools/call answered %q (isError %t), want text containing %q", text, r.IsError, want)
	}
	return nil
}

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

// ---- helpers ------------------------------------------------------------------

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// redact drops the query (codes, state) from a URL for the log.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// pageText pulls the heading out of a callback page for the log.
func pageText(body []byte) string {
	s := string(body)
	if i := strings.Index(s, "<h1>"); i >= 0 {
		s = s[i+4:]
		if j := strings.Index(s, "</h1>"); j >= 0 {
			return s[:j]
		}
	}
	return shorten(strings.TrimSpace(s))
}
