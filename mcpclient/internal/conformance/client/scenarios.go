package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

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
