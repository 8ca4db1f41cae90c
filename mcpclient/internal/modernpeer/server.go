// Package modernpeer wraps the official Go MCP SDK
// (github.com/modelcontextprotocol/go-sdk v1.8.0) as a second, independent
// implementation of MCP revision 2026-07-28 for tests: a Streamable HTTP
// server (StartSDKServer) and a client over stdio or HTTP (StartStdioClient,
// ConnectHTTP). It is for tests only.
//
// What the SDK does, as used here:
//
//   - Over Streamable HTTP the SDK serves 2026-07-28 only from a handler
//     made with StreamableHTTPOptions.Stateless (a stateful handler answers
//     server/discover with supportedVersions [] and the SDK client then
//     falls back to initialize), and legacy sessions only from a stateful
//     one. StartSDKServer therefore uses the stateless handler for
//     EraModern, the stateful one for EraLegacy, and for EraDual sends a
//     request whose Mcp-Protocol-Version header is 2026-07-28 or later to
//     the stateless handler and everything else to the stateful one (both
//     on the same mcp.Server).
//   - ServerOptions.SupportedProtocolVersions narrows the versions it
//     advertises in server/discover and accepts on modern requests (others
//     get -32022 UnsupportedProtocolVersion with data.supported), but, by the
//     SDK's design, never makes initialize fail: a server restricted to
//     2026-07-28 still answers initialize, with protocolVersion 2025-11-25,
//     and expects the legacy client to disconnect. So EraModern here is
//     "modern-only for modern requests", not the refusal the faultserver's
//     modern era gives.
//   - A tool handler asks for input by returning InputRequests (MRTR). To a
//     modern client that is the input_required result; for a legacy session
//     the SDK sends elicitation/create itself and re-invokes the handler
//     with the answer, so one handler serves both eras.
//   - Its client probes with server/discover and falls back to initialize
//     on any non-modern error; ClientSessionOptions.ProtocolVersion
//     "2025-11-25" skips the probe (the legacy option here).
package modernpeer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Eras for StartSDKServer.
const (
	// EraModern restricts the SDK server to 2026-07-28 (see the package
	// comment for what that means for initialize).
	EraModern = "modern"
	// EraDual is the SDK's default: every version it knows.
	EraDual = "dual"
	// EraLegacy restricts the SDK server to the versions before
	// 2026-07-28. Unlike a real pre-2026 server it answers a modern request
	// with a modern error, -32022 whose data.supported lists only legacy
	// versions; a dual-era client must then fall back to initialize.
	EraLegacy = "legacy"
)

// ModernVersion is revision 2026-07-28.
const ModernVersion = "2026-07-28"

// LegacyVersion is the newest revision with initialize.
const LegacyVersion = "2025-11-25"

// ElicitSchema is the schema of the elicit tool's question: one string
// property "answer".
var ElicitSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"answer": map[string]any{"type": "string"}},
	"required":   []string{"answer"},
}

// SDKServer is a running go-sdk Streamable HTTP server on 127.0.0.1. It
// offers the tools echo ({text} → text and structuredContent {text}),
// elicit ({message} → asks the client, answers "<action> <content JSON>",
// e.g. `accept {"answer":"42"}`) and progress ({count, ms} → count
// notifications/progress for the request's progressToken, then "sent N
// progress notifications"), the text resource test://static ("static
// resource content") and the prompt greet ({name} → "Hello, NAME!").
type SDKServer struct {
	// URL is the MCP endpoint, http://127.0.0.1:PORT/mcp.
	URL string
	// Server is the SDK server, for anything the helpers do not cover.
	Server *mcp.Server
	era    string
	hs     *httptest.Server
}

// StartSDKServer starts a go-sdk server for era (EraModern, EraDual or
// EraLegacy) and closes it when the test ends.
func StartSDKServer(t testing.TB, era string) *SDKServer {
	t.Helper()
	switch era {
	case EraModern, EraDual, EraLegacy:
	default:
		t.Fatalf("modernpeer: unknown era %q", era)
	}
	srv := newSDKServer(era)
	get := func(*http.Request) *mcp.Server { return srv }
	// The SDK serves 2026-07-28 over HTTP only from a stateless handler,
	// and legacy sessions (server→client requests, GET stream) only from a
	// stateful one.
	stateless := mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{Stateless: true})
	stateful := mcp.NewStreamableHTTPHandler(get, nil)
	var h http.Handler
	switch era {
	case EraModern:
		h = stateless
	case EraLegacy:
		h = stateful
	default:
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Mcp-Protocol-Version") >= ModernVersion {
				stateless.ServeHTTP(w, r)
			} else {
				stateful.ServeHTTP(w, r)
			}
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	hs := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(hs.Close)
	return &SDKServer{URL: hs.URL + "/mcp", Server: srv, era: era, hs: hs}
}

// Era returns the era the server was started with.
func (s *SDKServer) Era() string { return s.era }

// AddTool adds a tool called name that answers with its name; the SDK sends
// notifications/tools/list_changed (legacy sessions, modern listen
// streams that asked for it).
func (s *SDKServer) AddTool(name string) {
	s.Server.AddTool(&mcp.Tool{Name: name, Description: "Added at runtime; answers with its name.",
		InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text(name), nil
		})
}

// ResourceUpdated sends notifications/resources/updated for uri to the
// clients subscribed to it.
func (s *SDKServer) ResourceUpdated(ctx context.Context, uri string) error {
	return s.Server.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: uri})
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func addTools(srv *mcp.Server) {
	srv.AddTool(&mcp.Tool{
		Name:        "echo",
		Description: "Echoes its text argument.",
		InputSchema: map[string]any{
			"type":       "object",
			"properties": map[string]any{"text": map[string]any{"type": "string"}},
			"required":   []string{"text"},
		},
		OutputSchema: map[string]any{
			"type":       "object",
			"properties": map[string]any{"text": map[string]any{"type": "string"}},
			"required":   []string{"text"},
		},
	}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return nil, err
		}
		res := text(args.Text)
		res.StructuredContent = map[string]any{"text": args.Text}
		return res, nil
	})

	srv.AddTool(&mcp.Tool{
		Name:        "elicit",
		Description: "Asks the client for input (MRTR input_required; elicitation/create on a legacy session) and returns the action and content.",
		InputSchema: map[string]any{
			"type":       "object",
			"properties": map[string]any{"message": map[string]any{"type": "string"}},
		},
	}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r, ok := req.Params.InputResponses["answer"].(*mcp.ElicitResult); ok {
			content, _ := json.Marshal(r.Content)
			return text(fmt.Sprintf("%s %s", r.Action, content)), nil
		}
		var args struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(req.Params.Arguments, &args)
		if args.Message == "" {
			args.Message = "Your answer?"
		}
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{"answer": &mcp.ElicitParams{
				Message:         args.Message,
				RequestedSchema: ElicitSchema,
			}},
			RequestState: "elicit-1",
		}, nil
	})

	srv.AddTool(&mcp.Tool{
		Name:        "progress",
		Description: "Sends count notifications/progress (one every ms) for the request's progressToken, then returns.",
		InputSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"count": map[string]any{"type": "integer"},
				"ms":    map[string]any{"type": "integer"},
			},
		},
	}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := struct {
			Count int `json:"count"`
			MS    int `json:"ms"`
		}{Count: 3, MS: 10}
		_ = json.Unmarshal(req.Params.Arguments, &args)
		token := req.Params.GetProgressToken()
		sent := 0
		for i := 1; i <= args.Count && token != nil; i++ {
			err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      float64(i),
				Total:         float64(args.Count),
				Message:       fmt.Sprintf("step %d of %d", i, args.Count),
			})
			if err != nil {
				return nil, fmt.Errorf("progress notification: %w", err)
			}
			sent++
			select {
			case <-time.After(time.Duration(args.MS) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return text(fmt.Sprintf("sent %d progress notifications", sent)), nil
	})
}

// ResultText joins the text content of a tool result.
func ResultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// newSDKServer builds the SDK server with its tools, resource and prompt.
func newSDKServer(era string) *mcp.Server {
	opts := &mcp.ServerOptions{
		Instructions: "modernpeer: the official Go SDK as a test server.",
		Capabilities: &mcp.ServerCapabilities{
			Tools:     &mcp.ToolCapabilities{ListChanged: true},
			Resources: &mcp.ResourceCapabilities{Subscribe: true},
			Prompts:   &mcp.PromptCapabilities{},
		},
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	}
	switch era {
	case EraModern:
		opts.SupportedProtocolVersions = []string{ModernVersion}
	case EraDual:
	case EraLegacy:
		for _, v := range mcp.SupportedProtocolVersions() {
			if v < ModernVersion {
				opts.SupportedProtocolVersions = append(opts.SupportedProtocolVersions, v)
			}
		}
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "modernpeer-sdk-server", Version: "1.0.0"}, opts)
	addTools(srv)
	srv.AddResource(&mcp.Resource{URI: "test://static", Name: "static", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/plain", Text: "static resource content",
			}}}, nil
		})
	srv.AddPrompt(&mcp.Prompt{Name: "greet", Description: "Greets someone.",
		Arguments: []*mcp.PromptArgument{{Name: "name", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			name := req.Params.Arguments["name"]
			if name == "" {
				name = "world"
			}
			return &mcp.GetPromptResult{Description: "A greeting", Messages: []*mcp.PromptMessage{{
				Role: "user", Content: &mcp.TextContent{Text: "Hello, " + name + "!"},
			}}}, nil
		})
	return srv
}
