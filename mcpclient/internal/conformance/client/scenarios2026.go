package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// ---- scenarios of MCP 2026-07-28 (the stateless wire) --------------------------
//
// What the suite observes here is the hub's upstream wire: per-request
// _meta and MCP-Protocol-Version, the Mcp-Method, Mcp-Name and
// Mcp-Param-* headers, the era probe and the answering of input_required
// results. The handlers only do what a user or an IDE does: list and call
// tools, read resources, get prompts.

// requestMetadata: connect (the server refuses the hub's first request
// with UnsupportedProtocolVersion naming the version to use), list the
// tools through the hub's API, then call a tool from an IDE that declares
// roots, sampling and elicitation: the hub passes the IDE's capabilities
// on in the request's _meta.
func (c *client) requestMetadata(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	if _, err := c.call(ctx, "tools/list", nil); err != nil {
		return err
	}
	ide, err := c.openIDE(ctx, map[string]any{
		"roots":       map[string]any{"listChanged": true},
		"sampling":    map[string]any{},
		"elicitation": map[string]any{"form": map[string]any{}},
	}, nil)
	if err != nil {
		return err
	}
	defer ide.close()
	_, err = ide.call(ctx, "tools/call", map[string]any{"name": "any_tool", "arguments": map[string]any{}})
	return err
}

// standardHeaders: one request of each kind the suite checks the
// Mcp-Method and Mcp-Name headers of: every tool, resource and prompt the
// server lists is called, read or got.
func (c *client) standardHeaders(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	tools, err := c.listNames(ctx, "tools/list", "tools", "name")
	if err != nil {
		return err
	}
	for _, name := range tools {
		res, err := c.call(ctx, "tools/call", map[string]any{"name": name, "arguments": map[string]any{}})
		if err != nil {
			return err
		}
		if err := expectText(res, "Headers test completed"); err != nil {
			return fmt.Errorf("tool %s: %w", name, err)
		}
	}
	uris, err := c.listNames(ctx, "resources/list", "resources", "uri")
	if err != nil {
		return err
	}
	for _, uri := range uris {
		if _, err := c.call(ctx, "resources/read", map[string]any{"uri": uri}); err != nil {
			return err
		}
	}
	prompts, err := c.listNames(ctx, "prompts/list", "prompts", "name")
	if err != nil {
		return err
	}
	for _, name := range prompts {
		if _, err := c.call(ctx, "prompts/get", map[string]any{"name": name}); err != nil {
			return err
		}
	}
	if len(tools) == 0 || len(uris) == 0 || len(prompts) == 0 {
		return fmt.Errorf("the server listed %d tools, %d resources and %d prompts; want some of each", len(tools), len(uris), len(prompts))
	}
	return nil
}

// customHeaders: list the tools, then call the ones the scenario's
// context names with its arguments, as a user would (the hub mirrors the
// x-mcp-header parameters into Mcp-Param-* headers).
func (c *client) customHeaders(ctx context.Context) error {
	var sc struct {
		ToolCalls []struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"toolCalls"`
	}
	if err := json.Unmarshal([]byte(os.Getenv("MCP_CONFORMANCE_CONTEXT")), &sc); err != nil || len(sc.ToolCalls) == 0 {
		return fmt.Errorf("MCP_CONFORMANCE_CONTEXT has no toolCalls (%v)", err)
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	for _, tc := range sc.ToolCalls {
		if err := c.expectTool(ctx, tc.Name); err != nil {
			return err
		}
		res, err := c.call(ctx, "tools/call", map[string]any{"name": tc.Name, "arguments": tc.Arguments})
		if err != nil {
			return err
		}
		if err := expectText(res, "Custom headers test completed"); err != nil {
			return fmt.Errorf("tool %s: %w", tc.Name, err)
		}
	}
	return nil
}

// invalidToolHeaders: list the tools and call every one the hub lists,
// with placeholder arguments for the required parameters. The server also
// offers tools whose x-mcp-header annotations break the rules; the hub
// must leave them out of tools/list, so they are never called.
func (c *client) invalidToolHeaders(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	res, err := c.call(ctx, "tools/list", nil)
	if err != nil {
		return err
	}
	var tl struct {
		Tools []struct {
			Name        string `json:"name"`
			InputSchema struct {
				Properties map[string]struct {
					Type any `json:"type"`
				} `json:"properties"`
				Required []string `json:"required"`
			} `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res, &tl); err != nil {
		return fmt.Errorf("tools/list result: %v", err)
	}
	var names []string
	for _, t := range tl.Tools {
		args := map[string]any{}
		for _, p := range t.InputSchema.Required {
			args[p] = placeholder(t.InputSchema.Properties[p].Type)
		}
		if _, err := c.call(ctx, "tools/call", map[string]any{"name": t.Name, "arguments": args}); err != nil {
			return err
		}
		names = append(names, t.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "valid_tool") {
		return fmt.Errorf("the hub listed %v, without valid_tool", names)
	}
	c.log.Info("client: called every tool the hub listed", "tools", names)
	return nil
}

// placeholder is a value a user would type for a parameter of JSON
// Schema type t.
func placeholder(t any) any {
	switch t {
	case "integer", "number":
		return 1
	case "boolean":
		return true
	case "object":
		return map[string]any{}
	case "array":
		return []any{}
	case "null":
		return nil
	}
	return "us-west1"
}

// refNoDeref: list the tools of a server whose tool schema has a $ref to
// a network URL (the hub must not fetch it).
func (c *client) refNoDeref(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.expectTool(ctx, "lookup_user")
}

// schemaPreservation: list the tools and hand the input schema of
// json_schema_2020_12_tool, as the hub listed it, to json_schema_echo:
// what the server gets back shows what the hub kept of the schema.
func (c *client) schemaPreservation(ctx context.Context) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	res, err := c.call(ctx, "tools/list", nil)
	if err != nil {
		return err
	}
	var tl struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res, &tl); err != nil {
		return fmt.Errorf("tools/list result: %v", err)
	}
	for _, t := range tl.Tools {
		if t.Name == "json_schema_2020_12_tool" {
			_, err := c.call(ctx, "tools/call", map[string]any{"name": "json_schema_echo", "arguments": map[string]any{"schema": t.InputSchema}})
			return err
		}
	}
	return fmt.Errorf("tools/list has no json_schema_2020_12_tool: %s", shorten(string(res)))
}

// listNames lists method's items (under key) and returns each one's
// field, sorted.
func (c *client) listNames(ctx context.Context, method, key, field string) ([]string, error) {
	res, err := c.call(ctx, method, nil)
	if err != nil {
		return nil, err
	}
	var r map[string]json.RawMessage
	var items []map[string]any
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, fmt.Errorf("%s result: %v", method, err)
	}
	if err := json.Unmarshal(r[key], &items); err != nil {
		return nil, fmt.Errorf("%s result: %s: %v", method, key, err)
	}
	var out []string
	for _, it := range items {
		if s, ok := it[field].(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}
