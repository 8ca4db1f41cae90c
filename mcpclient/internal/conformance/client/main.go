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
// through the hub's public API, or as an IDE attached to the hub's socket
// where only an IDE can answer (elicitation, and the input_required results
// of MCP 2026-07-28, which the hub answers by asking the IDE) or where the
// IDE's capabilities matter. It exits non-zero when the scenario's calls
// fail. With the suite's --spec-version or --requirements 2026-07-28 the
// scenario servers speak the stateless 2026-07-28 wire; the hub finds that
// out by itself (its era probe), as it would with any server.
//
// It is internal: a test tool, not a product command.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	// The loopback HTTP endpoint is off: scenarios run side by side (and
	// beside a user's mcptray), and none uses it.
	cfg, _ := json.MarshalIndent(map[string]any{
		"http":       map[string]any{"enabled": false},
		"mcpServers": map[string]any{serverName: entry},
	}, "", "  ")
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
	case scenario == "request-metadata":
		return c.requestMetadata(ctx)
	case scenario == "sep-2322-client-request-state":
		return c.mrtrRequestState(ctx)
	case scenario == "http-standard-headers":
		return c.standardHeaders(ctx)
	case scenario == "http-custom-headers":
		return c.customHeaders(ctx)
	case scenario == "http-invalid-tool-headers":
		return c.invalidToolHeaders(ctx)
	case scenario == "json-schema-ref-no-deref":
		return c.refNoDeref(ctx)
	case scenario == "json-schema-2020-12-preservation":
		return c.schemaPreservation(ctx)
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
