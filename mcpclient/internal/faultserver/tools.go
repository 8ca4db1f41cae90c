package faultserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Schemas of the echo tool, exactly as they appear on the wire in
// tools/list (already compact, so mcp-go's re-encoding leaves them
// byte-for-byte intact). Their key order is not alphabetical and they
// contain the number 1e1, so a proxy that decodes and re-encodes them is
// caught by a byte comparison.
const (
	EchoInputSchema  = `{"type":"object","properties":{"text":{"type":"string","description":"Text to echo back."},"options":{"type":"object","properties":{"upper":{"type":"boolean"},"repeat":{"type":"integer","minimum":1,"maximum":1e1}},"additionalProperties":false}},"required":["text"]}`
	EchoOutputSchema = `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`
)

// GetStreamWait is how long the sample and roots tools wait for the calling
// session to have a GET stream open before failing: mcp-go v1.2.1 sends
// sampling/createMessage and roots/list only on the standalone GET stream.
const GetStreamWait = 2 * time.Second

func (s *Server) buildTools(in *instance, names []string) []server.ServerTool {
	out := make([]server.ServerTool, 0, len(names))
	for _, n := range names {
		out = append(out, s.tool(in, n))
	}
	return out
}

// tool is the tool called name: a built-in one (see DefaultTools), or one
// that answers with its name.
func (s *Server) tool(in *instance, name string) server.ServerTool {
	switch name {
	case "echo":
		return echoToolDef()
	case "slow":
		return s.slowTool(in)
	case "progress":
		return s.progressTool(in)
	case "sample":
		return s.sampleTool(in)
	case "elicit":
		return s.elicitTool(in)
	case "roots":
		return s.rootsTool(in)
	case "headered":
		return headeredTool()
	case "log":
		return s.logTool(in)
	default:
		return namedTool(name)
	}
}

// echoToolDef is the echo tool, with the raw schemas EchoInputSchema and
// EchoOutputSchema.
func echoToolDef() server.ServerTool {
	// Not mcp.NewTool: it presets InputSchema, and a Tool with both
	// InputSchema and RawInputSchema fails to marshal.
	t := mcp.NewToolWithRawSchema("echo", "Echoes its text argument.", json.RawMessage(EchoInputSchema))
	t.RawOutputSchema = json.RawMessage(EchoOutputSchema)
	return server.ServerTool{Tool: t, Handler: echoTool}
}

// slowTool sleeps ms milliseconds, honouring cancellation, and counts the
// calls that were cancelled.
func (s *Server) slowTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("slow",
			mcp.WithDescription("Sleeps ms milliseconds, honouring cancellation."),
			mcp.WithNumber("ms", mcp.Description("milliseconds to sleep"), mcp.Required()),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			d := time.Duration(req.GetInt("ms", 0)) * time.Millisecond
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return mcp.NewToolResultText(fmt.Sprintf("slept %v", d)), nil
			case <-ctx.Done():
				s.mu.Lock()
				s.cancelled++
				s.mu.Unlock()
				return nil, ctx.Err()
			}
		},
	}
}

// progressTool sends count notifications/progress for the request's
// progressToken, one every ms.
func (s *Server) progressTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("progress",
			mcp.WithDescription("Sends count notifications/progress (one every ms) for the request's progressToken, then returns."),
			mcp.WithNumber("count", mcp.Description("number of notifications, default 3")),
			mcp.WithNumber("ms", mcp.Description("pause between notifications, default 10")),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			n := req.GetInt("count", 3)
			pause := time.Duration(req.GetInt("ms", 10)) * time.Millisecond
			var token mcp.ProgressToken
			if req.Params.Meta != nil {
				token = req.Params.Meta.ProgressToken
			}
			sent := 0
			for i := 1; i <= n && token != nil; i++ {
				err := in.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
					"progressToken": token,
					"progress":      i,
					"total":         n,
					"message":       fmt.Sprintf("step %d of %d", i, n),
				})
				if err != nil {
					return mcp.NewToolResultErrorf("progress notification: %v", err), nil
				}
				sent++
				t := time.NewTimer(pause)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				}
			}
			return mcp.NewToolResultText(fmt.Sprintf("sent %d progress notifications", sent)), nil
		},
	}
}

// sampleTool asks the client to sample (sampling/createMessage).
func (s *Server) sampleTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("sample",
			mcp.WithDescription("Asks the client to sample (sampling/createMessage) and returns the text it answered."),
			mcp.WithString("prompt", mcp.Description("the user message"), mcp.Required()),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			params := mcp.CreateMessageParams{
				Messages: []mcp.SamplingMessage{{
					Role:    mcp.RoleUser,
					Content: mcp.NewTextContent(req.GetString("prompt", "")),
				}},
				MaxTokens: 100,
			}
			if caps, modern := modernCaps(ctx); modern {
				if res := server.SamplingResponse(req.Params.InputResponses, inputKey); res != nil {
					return mcp.NewToolResultText(contentText(res.Content)), nil
				}
				if caps.Sampling == nil {
					return missingCapability("sampling"), nil
				}
				return server.NewInputRequestBuilder("sample-1").Sample(inputKey, params).ToolResult(), nil
			}
			if err := s.waitGetStream(ctx); err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			res, err := in.mcp.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: params})
			if err != nil {
				return mcp.NewToolResultErrorf("sampling failed: %v", err), nil
			}
			return mcp.NewToolResultText(contentText(res.Content)), nil
		},
	}
}

// elicitTool asks the client for input (elicitation/create).
func (s *Server) elicitTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("elicit",
			mcp.WithDescription("Asks the client for input (elicitation/create; on a modern request an input_required result) and returns the action and content."),
			mcp.WithString("message", mcp.Description("the question")),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			params := mcp.ElicitationParams{
				Message: req.GetString("message", "Your answer?"),
				RequestedSchema: map[string]any{
					"type": "object",
					"properties": map[string]any{
						"answer": map[string]any{"type": "string"},
					},
					"required": []string{"answer"},
				},
			}
			if caps, modern := modernCaps(ctx); modern {
				if res := server.ElicitationResponse(req.Params.InputResponses, inputKey); res != nil {
					return elicitResult(res), nil
				}
				if caps.Elicitation == nil {
					return missingCapability("elicitation"), nil
				}
				return server.NewInputRequestBuilder("elicit-1").Elicit(inputKey, params).ToolResult(), nil
			}
			res, err := in.mcp.RequestElicitation(ctx, mcp.ElicitationRequest{Params: params})
			if err != nil {
				return mcp.NewToolResultErrorf("elicitation failed: %v", err), nil
			}
			return elicitResult(res), nil
		},
	}
}

// rootsTool asks the client for its roots (roots/list).
func (s *Server) rootsTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("roots",
			mcp.WithDescription("Asks the client for its roots (roots/list) and returns their URIs, one a line."),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			if caps, modern := modernCaps(ctx); modern {
				if res := server.RootsResponse(req.Params.InputResponses, inputKey); res != nil {
					return rootsResult(res), nil
				}
				if caps.Roots == nil {
					return missingCapability("roots"), nil
				}
				return server.NewInputRequestBuilder("roots-1").Roots(inputKey).ToolResult(), nil
			}
			if err := s.waitGetStream(ctx); err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			res, err := in.mcp.RequestRoots(ctx, mcp.ListRootsRequest{})
			if err != nil {
				return mcp.NewToolResultErrorf("roots/list failed: %v", err), nil
			}
			return rootsResult(res), nil
		},
	}
}

// inputKey is the key of the one input request the sample, elicit and roots
// tools make on a modern request.
const inputKey = "answer"

// modernCaps reports whether the request is a modern (2026-07-28) one and
// the client capabilities it declared.
func modernCaps(ctx context.Context) (mcp.ClientCapabilities, bool) {
	info := server.RequestProtocolInfoFromContext(ctx)
	if info == nil || !info.Modern {
		return mcp.ClientCapabilities{}, false
	}
	if info.ClientCapabilities == nil {
		return mcp.ClientCapabilities{}, true
	}
	return *info.ClientCapabilities, true
}

// missingCapability is the tool error for a modern request whose client did
// not declare the capability an input request needs (MRTR forbids sending
// it one).
func missingCapability(name string) *mcp.CallToolResult {
	return mcp.NewToolResultErrorf("the client did not declare the %s capability", name)
}

func elicitResult(res *mcp.ElicitationResult) *mcp.CallToolResult {
	content, _ := json.Marshal(res.Content)
	return mcp.NewToolResultText(fmt.Sprintf("%s %s", res.Action, content))
}

func rootsResult(res *mcp.ListRootsResult) *mcp.CallToolResult {
	uris := make([]string, 0, len(res.Roots))
	for _, r := range res.Roots {
		uris = append(uris, r.URI)
	}
	return mcp.NewToolResultText(strings.Join(uris, "\n"))
}

// namedTool is a tool added by SetTools that answers with its own name.
func namedTool(name string) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool(name, mcp.WithDescription("A tool added by SetTools; answers with its name.")),
		Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(name), nil
		},
	}
}

func echoTool(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	text, err := req.RequireString("text")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	var opts struct {
		Upper  bool `json:"upper"`
		Repeat int  `json:"repeat"`
	}
	if o, ok := req.GetArguments()["options"]; ok {
		b, _ := json.Marshal(o)
		_ = json.Unmarshal(b, &opts)
	}
	if opts.Upper {
		text = strings.ToUpper(text)
	}
	if opts.Repeat > 1 {
		text = strings.Repeat(text, opts.Repeat)
	}
	return mcp.NewToolResultStructured(map[string]any{"text": text}, text), nil
}

// toolContext makes a tool's context also end when the instance shuts down
// (on the legacy transport mcp-go runs tools with a context detached from
// the request).
func (in *instance) toolContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(in.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// waitGetStream waits until the calling session has a GET stream open
// (streamable HTTP only), for at most GetStreamWait.
func (s *Server) waitGetStream(ctx context.Context) error {
	if s.opts.Transport != TransportStreamable {
		return nil // mcp-go's legacy SSE session answers with its own error
	}
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return errors.New("no client session")
	}
	id := sess.SessionID()
	deadline := time.NewTimer(GetStreamWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.hasStream(id) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("session %s has no GET stream open: mcp-go sends server-to-client requests only on it (open it, e.g. with transport.WithContinuousListening())", id)
		case <-tick.C:
		}
	}
	return nil
}

func contentText(c any) string {
	switch v := c.(type) {
	case mcp.TextContent:
		return v.Text
	case *mcp.TextContent:
		return v.Text
	case map[string]any: // content decoded without its Go type (MRTR)
		if t, ok := v["text"].(string); ok && v["type"] == "text" {
			return t
		}
		b, _ := json.Marshal(v)
		return string(b)
	case []mcp.Content:
		var parts []string
		for _, p := range v {
			parts = append(parts, contentText(p))
		}
		return strings.Join(parts, "\n")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func addResourcesAndPrompts(ms *server.MCPServer) {
	ms.AddResource(
		mcp.NewResource("test://static", "static",
			mcp.WithResourceDescription("A static text resource."),
			mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{
				URI:      "test://static",
				MIMEType: "text/plain",
				Text:     "static resource content",
			}}, nil
		})
	ms.AddPrompt(
		mcp.NewPrompt("greet",
			mcp.WithPromptDescription("Greets someone."),
			mcp.WithArgument("name", mcp.ArgumentDescription("who to greet"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			name := req.Params.Arguments["name"]
			if name == "" {
				name = "world"
			}
			return mcp.NewGetPromptResult("A greeting", []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("Hello, "+name+"!")),
			}), nil
		})
}

// headeredTool has a parameter marked x-mcp-header (2026-07-28): a modern
// client must send it as Mcp-Param-Region too, and mcp-go refuses a call
// whose header is missing or differs (-32020). It is not among
// DefaultTools; add it with AddTools("headered").
func headeredTool() server.ServerTool {
	schema := json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"query":{"type":"string"}},"required":["region"]}`)
	return server.ServerTool{
		Tool: mcp.NewToolWithRawSchema("headered", "Echoes its region (sent also as the header Mcp-Param-Region).", schema),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("region " + req.GetString("region", "")), nil
		},
	}
}

// logTool sends one notifications/message about the request, then
// returns. It is not among DefaultTools; add it with AddTools("log").
func (s *Server) logTool(in *instance) server.ServerTool {
	return server.ServerTool{
		Tool: mcp.NewTool("log",
			mcp.WithDescription("Sends a notifications/message (level info) about this request, then returns."),
			mcp.WithString("text", mcp.Description("the log message")),
		),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := in.toolContext(ctx)
			defer done()
			text := req.GetString("text", "a log line")
			if err := in.mcp.SendNotificationToClient(ctx, "notifications/message", map[string]any{"level": "info", "logger": "faultserver", "data": text}); err != nil {
				return mcp.NewToolResultErrorf("log notification: %v", err), nil
			}
			// mcp-go writes notifications from a goroutine of its own: the
			// result returned at once can overtake it on the stream (the
			// progress tool's pauses hide the same race).
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			return mcp.NewToolResultText("logged " + text), nil
		},
	}
}
