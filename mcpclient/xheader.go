package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// Custom headers from tool parameters (MCP 2026-07-28, Streamable HTTP):
// a tool's inputSchema may mark a parameter with "x-mcp-header": NAME, and
// a client then MUST send its value as the header Mcp-Param-NAME on each
// tools/call, and MUST leave out of tools/list a tool whose annotation
// breaks the rules. The hub learns the annotations from the tools/list
// results it sees on a modern session.

// paramHeader is one annotated parameter: its header name and the chain
// of properties leading to it.
type paramHeader struct {
	name string
	path []string
}

// toolHeaderTable holds the annotations of the current server's tools.
type toolHeaderTable struct {
	mu    sync.Mutex
	tools map[string][]paramHeader
}

func (t *toolHeaderTable) set(tool string, hs []paramHeader) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tools == nil {
		t.tools = map[string][]paramHeader{}
	}
	if len(hs) == 0 {
		delete(t.tools, tool)
		return
	}
	t.tools[tool] = hs
}

func (t *toolHeaderTable) get(tool string) []paramHeader {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tools[tool]
}

// schemaHeaders validates a tool's x-mcp-header annotations and returns
// them; an error names the first rule broken.
func schemaHeaders(schema json.RawMessage) ([]paramHeader, error) {
	if !bytes.Contains(schema, []byte("x-mcp-header")) {
		return nil, nil
	}
	var root any
	if err := json.Unmarshal(schema, &root); err != nil {
		return nil, err
	}
	var out []paramHeader
	seen := map[string]bool{}
	var walk func(v any, path []string, reachable bool) error
	walk = func(v any, path []string, reachable bool) error {
		switch n := v.(type) {
		case map[string]any:
			if h, ok := n["x-mcp-header"]; ok {
				name, isStr := h.(string)
				switch {
				case !reachable:
					return fmt.Errorf("x-mcp-header on a property not reachable through properties alone")
				case !isStr || name == "":
					return fmt.Errorf("x-mcp-header must be a non-empty string")
				case !isToken(name):
					return fmt.Errorf("x-mcp-header %q is not an HTTP field-name token", name)
				case seen[strings.ToLower(name)]:
					return fmt.Errorf("x-mcp-header %q appears twice", name)
				}
				if t, _ := n["type"].(string); t != "string" && t != "integer" && t != "boolean" {
					return fmt.Errorf("x-mcp-header %q is on a parameter of type %v (only string, integer and boolean may be)", name, n["type"])
				}
				seen[strings.ToLower(name)] = true
				out = append(out, paramHeader{name: name, path: append([]string(nil), path...)})
			}
			for k, c := range n {
				if k == "properties" {
					props, ok := c.(map[string]any)
					if !ok {
						continue
					}
					for pk, pv := range props {
						if err := walk(pv, append(path, pk), reachable); err != nil {
							return err
						}
					}
					continue
				}
				if err := walk(c, path, false); err != nil {
					return err
				}
			}
		case []any:
			for _, c := range n {
				if err := walk(c, path, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, nil, true); err != nil {
		return nil, err
	}
	return out, nil
}

// isToken reports an RFC 9110 token (1*tchar).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return s != ""
}

// learnTools reads a tools/list result of a modern session: it records
// each tool's header annotations and returns the result without the tools
// whose annotations are invalid (unchanged when none is).
func (u *supervisor) learnTools(result json.RawMessage) json.RawMessage {
	var r map[string]json.RawMessage
	if json.Unmarshal(result, &r) != nil {
		return result
	}
	var tools []json.RawMessage
	if json.Unmarshal(r["tools"], &tools) != nil {
		return result
	}
	kept := tools[:0:0]
	dropped := false
	for _, raw := range tools {
		var tl struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		}
		_ = json.Unmarshal(raw, &tl)
		hs, err := schemaHeaders(tl.InputSchema)
		if err != nil {
			u.log.Warn("left out a tool whose x-mcp-header annotation is invalid", "tool", tl.Name, "reason", err.Error())
			u.toolHeaders.set(tl.Name, nil)
			dropped = true
			continue
		}
		u.toolHeaders.set(tl.Name, hs)
		kept = append(kept, raw)
	}
	if !dropped {
		return result
	}
	r["tools"], _ = json.Marshal(kept)
	b, err := json.Marshal(r)
	if err != nil {
		return result
	}
	return b
}

// paramHeadersFor are the Mcp-Param-* headers of a tools/call on a modern
// session, from the tool's annotations and the call's arguments.
func (u *supervisor) paramHeadersFor(params json.RawMessage) http.Header {
	var p struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}
	if json.Unmarshal(params, &p) != nil {
		return nil
	}
	hs := u.toolHeaders.get(p.Name)
	if len(hs) == 0 {
		return nil
	}
	h := http.Header{}
	for _, ph := range hs {
		var v any = p.Arguments
		for _, k := range ph.path {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case bool:
			s = strconv.FormatBool(x)
		case float64:
			if x != float64(int64(x)) {
				continue
			}
			s = strconv.FormatInt(int64(x), 10)
		default:
			continue // absent or null: no header
		}
		h.Set("Mcp-Param-"+ph.name, transport.HeaderValue(s))
	}
	return h
}

// relearnTools lists a modern server's tools again, for their header
// annotations.
func (u *supervisor) relearnTools(ctx context.Context, s *session) {
	var cursor string
	for page := 0; page < 100; page++ {
		var fields map[string]any
		if cursor != "" {
			fields = map[string]any{"cursor": cursor}
		}
		resp, err := s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "tools/list", Params: u.hubParams(s, fields)})
		if err != nil || resp.Error != nil {
			return
		}
		u.learnTools(resp.Result)
		var r struct {
			NextCursor string `json:"nextCursor"`
		}
		_ = json.Unmarshal(resp.Result, &r)
		if r.NextCursor == "" {
			return
		}
		cursor = r.NextCursor
	}
}

// errorCode is a JSON-RPC error object's code (0 for none).
func errorCode(errObj json.RawMessage) int {
	if errObj == nil {
		return 0
	}
	var e struct {
		Code int `json:"code"`
	}
	_ = json.Unmarshal(errObj, &e)
	return e.Code
}
