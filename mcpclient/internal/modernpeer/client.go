package modernpeer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ClientOptions configures StartStdioClient and ConnectHTTP.
type ClientOptions struct {
	// Legacy makes the client speak 2025-11-25: initialize, no
	// server/discover probe, no per-request _meta. By default the client
	// asks for 2026-07-28 (server/discover first, and the SDK's own
	// fallback to initialize if the peer answers with a non-modern error).
	Legacy bool
	// ElicitAction and ElicitContent are the answer to every elicitation,
	// whether it comes as an input_required result (modern) or as an
	// elicitation/create request (legacy). ElicitAction defaults to
	// "accept". With both unset the client declares no elicitation
	// capability.
	ElicitAction  string
	ElicitContent map[string]any
	// ConnectTimeout bounds the connection (process start and the
	// server/discover or initialize exchange); default 30s.
	ConnectTimeout time.Duration
	// HTTPHeaders are sent with every HTTP request of ConnectHTTP (e.g.
	// the Authorization of mcptray's endpoint).
	HTTPHeaders map[string]string
}

// Elicitation is one elicitation the client answered.
type Elicitation struct {
	// Via is "input_required" (an MRTR result the client retried) or
	// "elicitation/create" (a server→client request on a legacy session).
	Via     string
	Message string
}

// Client is a go-sdk client session with test helpers. Its methods are safe
// for concurrent use.
type Client struct {
	// Session is the SDK session, for anything the helpers do not cover.
	Session *mcp.ClientSession
	opts    ClientOptions

	mu           sync.Mutex
	elicitations []Elicitation
	notified     map[string]int
	progress     []*mcp.ProgressNotificationParams
}

// StartStdioClient launches cmd (e.g. the mcptray-bridge binary with its
// NAME argument and env) with the SDK's CommandTransport and connects to it
// over stdio. The session is closed (stdin closed, the process waited for)
// when the test ends. cmd must not have been started; its Stdin and Stdout
// must be unset (Stderr may be set, e.g. to capture the bridge's log).
func StartStdioClient(t testing.TB, cmd *exec.Cmd, opts ClientOptions) *Client {
	t.Helper()
	return connect(t, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, opts)
}

// ConnectHTTP connects to a Streamable HTTP endpoint with the SDK's
// StreamableClientTransport.
func ConnectHTTP(t testing.TB, url string, opts ClientOptions) *Client {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: url}
	if len(opts.HTTPHeaders) > 0 {
		tr.HTTPClient = &http.Client{Transport: headerTransport{opts.HTTPHeaders}}
	}
	return connect(t, tr, opts)
}

// headerTransport adds fixed headers to every request.
type headerTransport struct{ h map[string]string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func connect(t testing.TB, tr mcp.Transport, opts ClientOptions) *Client {
	t.Helper()
	c := &Client{opts: opts, notified: make(map[string]int)}
	if c.opts.ElicitAction == "" && c.opts.ElicitContent != nil {
		c.opts.ElicitAction = "accept"
	}
	copts := &mcp.ClientOptions{
		// The helpers run the retry loop themselves, so they see (and
		// record) every input_required result.
		MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			c.note("notifications/tools/list_changed")
		},
		ResourceUpdatedHandler: func(context.Context, *mcp.ResourceUpdatedNotificationRequest) {
			c.note("notifications/resources/updated")
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			c.mu.Lock()
			c.progress = append(c.progress, req.Params)
			c.notified["notifications/progress"]++
			c.mu.Unlock()
		},
	}
	if c.opts.ElicitAction != "" {
		copts.ElicitationHandler = func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			c.mu.Lock()
			c.elicitations = append(c.elicitations, Elicitation{Via: "elicitation/create", Message: req.Params.Message})
			c.mu.Unlock()
			return c.elicitAnswer(), nil
		}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "modernpeer-sdk-client", Version: "1.0.0"}, copts)
	sopts := &mcp.ClientSessionOptions{}
	if opts.Legacy {
		sopts.ProtocolVersion = LegacyVersion
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cs, err := client.Connect(ctx, tr, sopts)
	if err != nil {
		t.Fatalf("modernpeer: connect: %v", err)
	}
	c.Session = cs
	t.Cleanup(func() { _ = cs.Close() })
	return c
}

func (c *Client) note(method string) {
	c.mu.Lock()
	c.notified[method]++
	c.mu.Unlock()
}

func (c *Client) elicitAnswer() *mcp.ElicitResult {
	return &mcp.ElicitResult{Action: c.opts.ElicitAction, Content: c.opts.ElicitContent}
}

// ProtocolVersion is the version the session runs: "2026-07-28" after a
// successful server/discover, else what initialize negotiated.
func (c *Client) ProtocolVersion() string {
	if r := c.Session.InitializeResult(); r != nil {
		return r.ProtocolVersion
	}
	return ""
}

// Close ends the session (for stdio: closes the child's stdin and waits for
// it to exit, then terminates it after 5s).
func (c *Client) Close() error { return c.Session.Close() }

// ListTools returns the names of the server's tools (every page).
func (c *Client) ListTools(ctx context.Context) ([]string, error) {
	var names []string
	for tool, err := range c.Session.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		names = append(names, tool.Name)
	}
	return names, nil
}

// maxRounds bounds the MRTR retries of one call.
const maxRounds = 10

// CallTool calls a tool. args may be nil; meta is the request's _meta
// (e.g. {"progressToken": 1}), may be nil. An input_required result is
// answered as ClientOptions say (elicitations only; a client without an
// elicitation answer, or a request for sampling or roots, is an error) and
// the call retried with the inputResponses and requestState, up to 10
// rounds; the final result is returned.
func (c *Client) CallTool(ctx context.Context, name string, args map[string]any, meta map[string]any) (*mcp.CallToolResult, error) {
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	if meta != nil {
		params.Meta = mcp.Meta(meta)
	}
	for range maxRounds {
		// The SDK adds the _meta protocol keys to params.Meta; start every
		// round from the caller's copy.
		p := *params
		if meta != nil {
			p.Meta = make(mcp.Meta, len(meta))
			for k, v := range meta {
				p.Meta[k] = v
			}
		}
		res, err := c.Session.CallTool(ctx, &p)
		if err != nil {
			return nil, err
		}
		if res.InputRequests == nil {
			return res, nil
		}
		responses, err := c.answer(res.InputRequests)
		if err != nil {
			return nil, err
		}
		params.InputResponses = responses
		params.RequestState = res.RequestState
	}
	return nil, fmt.Errorf("modernpeer: %s still needs input after %d rounds", name, maxRounds)
}

func (c *Client) answer(reqs mcp.InputRequestMap) (mcp.InputResponseMap, error) {
	out := make(mcp.InputResponseMap, len(reqs))
	for id, r := range reqs {
		ep, ok := r.(*mcp.ElicitParams)
		if !ok {
			return nil, fmt.Errorf("modernpeer: input request %q is a %T; only elicitation is answered", id, r)
		}
		if c.opts.ElicitAction == "" {
			return nil, fmt.Errorf("modernpeer: input request %q asks for elicitation and the client has no answer", id)
		}
		c.mu.Lock()
		c.elicitations = append(c.elicitations, Elicitation{Via: "input_required", Message: ep.Message})
		c.mu.Unlock()
		out[id] = c.elicitAnswer()
	}
	return out, nil
}

// CallToolText calls a tool and returns its text; a tool error is an error.
func (c *Client) CallToolText(ctx context.Context, name string, args map[string]any) (string, error) {
	res, err := c.CallTool(ctx, name, args, nil)
	if err != nil {
		return "", err
	}
	if res.IsError {
		return "", fmt.Errorf("modernpeer: tool %s failed: %s", name, ResultText(res))
	}
	return ResultText(res), nil
}

// ReadResource reads a resource and returns the text of its contents.
func (c *Client) ReadResource(ctx context.Context, uri string) (string, error) {
	res, err := c.Session.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, rc := range res.Contents {
		parts = append(parts, rc.Text)
	}
	return strings.Join(parts, "\n"), nil
}

// GetPrompt gets a prompt and returns the text of its messages.
func (c *Client) GetPrompt(ctx context.Context, name string, args map[string]string) (string, error) {
	res, err := c.Session.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, m := range res.Messages {
		if tc, ok := m.Content.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), nil
}

// Subscribe subscribes to resources/updated for uri (legacy:
// resources/subscribe; modern: a subscriptions/listen stream of its own,
// opened by the SDK in the background).
func (c *Client) Subscribe(ctx context.Context, uri string) error {
	return c.Session.Subscribe(ctx, &mcp.SubscribeParams{URI: uri})
}

// Elicitations returns the elicitations answered so far.
func (c *Client) Elicitations() []Elicitation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Elicitation(nil), c.elicitations...)
}

// Notified returns how many notifications of method
// ("notifications/tools/list_changed", "notifications/resources/updated",
// "notifications/progress") arrived.
func (c *Client) Notified(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notified[method]
}

// Progress returns the progress notifications received so far.
func (c *Client) Progress() []*mcp.ProgressNotificationParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*mcp.ProgressNotificationParams(nil), c.progress...)
}

// WaitNotified waits until at least n notifications of method arrived.
func (c *Client) WaitNotified(ctx context.Context, method string, n int) error {
	for c.Notified(method) < n {
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("modernpeer: %d of %d %s", c.Notified(method), n, method), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
