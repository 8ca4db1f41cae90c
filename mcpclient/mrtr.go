package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Translation between the eras of a request's answer: multi round-trip
// requests (2026-07-28's input_required results) for IDEs that only know
// server→client requests, resultType, and the error codes that moved.

// maxInputRounds bounds the input_required rounds of one request: a
// server may ask again, but not forever.
const maxInputRounds = 16

// versionToRetry returns the modern version to re-issue a request with
// when the server refused the session's version
// (UnsupportedProtocolVersion naming others), or "".
func versionToRetry(s *session, errObj json.RawMessage) string {
	if errObj == nil {
		return ""
	}
	var e struct {
		Code int `json:"code"`
		Data struct {
			Supported []string `json:"supported"`
		} `json:"data"`
	}
	if json.Unmarshal(errObj, &e) != nil || e.Code != jsonrpc.CodeUnsupportedProtocolVersion {
		return ""
	}
	if v := newestModern(e.Data.Supported); v != "" && v != s.ver() {
		return v
	}
	return ""
}

// resultType reads a result's resultType ("" when absent: "complete").
func resultType(result json.RawMessage) string {
	if !bytes.Contains(result, []byte(`"resultType"`)) {
		return ""
	}
	var r struct {
		ResultType string `json:"resultType"`
	}
	_ = json.Unmarshal(result, &r)
	return r.ResultType
}

// fulfilInputs answers an input_required result for an IDE of the legacy
// era: each input request goes to the IDE the call came from as the
// server→client request it was before 2026-07-28 (elicitation, sampling,
// roots), and the request's params come back with inputResponses and the
// server's requestState, to be re-issued under a new id. A non-nil line is
// the IDE's final answer instead (no IDE can answer, or too many rounds).
func (u *supervisor) fulfilInputs(ctx context.Context, d *downstream, c *call, m *jsonrpc.Message, params, result json.RawMessage, tries *retries) (json.RawMessage, []byte) {
	tries.rounds++
	if tries.rounds > maxInputRounds {
		return nil, u.errorLine(m.ID, jsonrpc.CodeInternalError, fmt.Sprintf("mcptray: server %q asked for more input %d times for one %s; mcptray gave up", u.name, maxInputRounds, m.Method))
	}
	var r struct {
		InputRequests map[string]struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		} `json:"inputRequests"`
		RequestState json.RawMessage `json:"requestState"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return nil, u.errorLine(m.ID, jsonrpc.CodeInternalError, fmt.Sprintf("mcptray: server %q answered %s with an input_required result that is not valid: %v", u.name, m.Method, err))
	}
	if len(r.InputRequests) > 0 && d == nil {
		methods := make([]string, 0, len(r.InputRequests))
		for _, ir := range r.InputRequests {
			methods = append(methods, ir.Method)
		}
		slices.Sort(methods)
		return nil, u.errorLine(m.ID, jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: server %q needs input (%s) to complete %s, which only an IDE can give; call it from an IDE", u.name, strings.Join(methods, ", "), m.Method))
	}
	keys := make([]string, 0, len(r.InputRequests))
	for k := range r.InputRequests {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	responses := map[string]json.RawMessage{}
	for _, k := range keys {
		ir := r.InputRequests[k]
		if capName := capabilityFor(ir.Method); capName != "" && !d.hasCapability(capName) {
			continue // the IDE cannot answer it; the server may ask again or fail
		}
		resp, err := d.request(ctx, ir.Method, ir.Params, c.upKey)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, u.errorLine(m.ID, jsonrpc.CodeInternalError, fmt.Sprintf("mcptray: server %q asked for input (%s) for %s, and the IDE did not answer: %v", u.name, ir.Method, m.Method, err))
		}
		if resp.Error != nil {
			u.log.Info("the IDE refused an input request", "method", ir.Method)
			continue
		}
		responses[k] = resp.Result
	}
	var p map[string]json.RawMessage
	if len(params) > 0 {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, u.errorLine(m.ID, jsonrpc.CodeInvalidParams, "mcptray: the request's params are not a JSON object")
		}
	}
	if p == nil {
		p = map[string]json.RawMessage{}
	}
	p["inputResponses"], _ = json.Marshal(responses)
	if r.RequestState != nil {
		p["requestState"] = r.RequestState
	} else {
		delete(p, "requestState")
	}
	next, err := json.Marshal(p)
	if err != nil {
		return nil, u.errorLine(m.ID, jsonrpc.CodeInternalError, "mcptray: could not re-issue the request: "+err.Error())
	}
	return next, nil
}

// shapeForIDE maps an answer into the era of the IDE that asked:
//   - a modern IDE gets resultType "complete" on a legacy server's result,
//     and the modern code for an unknown resource (-32602, not -32002);
//   - a legacy IDE gets a modern server's result without resultType, and
//     -32002 for a resource the server did not find.
func shapeForIDE(method string, result, errObj json.RawMessage, modernIDE, modernServer bool) (json.RawMessage, json.RawMessage) {
	switch {
	case modernIDE && !modernServer:
		if result != nil && resultType(result) == "" {
			result = setField(result, "resultType", json.RawMessage(`"complete"`))
		}
		if result != nil && cacheHinted[method] {
			result = withCacheHints(result)
		}
		if errObj != nil {
			errObj = mapErrorCode(errObj, jsonrpc.CodeResourceNotFound, jsonrpc.CodeInvalidParams, nil)
		}
	case !modernIDE && modernServer:
		if result != nil && resultType(result) == "complete" {
			result = dropResultType(result)
		}
		if errObj != nil {
			errObj = legacyModernError(errObj)
		}
		if errObj != nil && method == "resources/read" {
			errObj = mapErrorCode(errObj, jsonrpc.CodeInvalidParams, jsonrpc.CodeResourceNotFound, func(msg string) bool {
				return strings.Contains(strings.ToLower(msg), "not found")
			})
		}
	}
	return result, errObj
}

// cacheHinted are the results that carry ttlMs and cacheScope in
// 2026-07-28 (SEP-2549: both required).
var cacheHinted = map[string]bool{
	"tools/list": true, "prompts/list": true, "resources/list": true,
	"resources/templates/list": true, "resources/read": true,
}

// withCacheHints adds the caching hints a legacy server's result lacks:
// ttlMs 0 (revalidate every time: a legacy server promises nothing, and
// its list_changed notifications reach the IDE anyway) and cacheScope
// "private" (the answer may depend on the user's sign-in).
func withCacheHints(result json.RawMessage) json.RawMessage {
	if bytes.Contains(result, []byte(`"ttlMs"`)) && bytes.Contains(result, []byte(`"cacheScope"`)) {
		return result
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(result, &m) != nil || m == nil {
		return result
	}
	if _, ok := m["ttlMs"]; !ok {
		m["ttlMs"] = json.RawMessage("0")
	}
	if _, ok := m["cacheScope"]; !ok {
		m["cacheScope"] = json.RawMessage(`"private"`)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return result
	}
	return b
}

// setField sets (or, with v nil, removes) a top-level field of a JSON
// object; anything else is returned as it is.
func setField(obj json.RawMessage, key string, v json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m == nil {
		return obj
	}
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return obj
	}
	return b
}

// mapErrorCode changes an error's code from → to (when match, if given,
// accepts its message).
func mapErrorCode(errObj json.RawMessage, from, to int, match func(string) bool) json.RawMessage {
	var e map[string]json.RawMessage
	if json.Unmarshal(errObj, &e) != nil {
		return errObj
	}
	var code int
	var msg string
	if json.Unmarshal(e["code"], &code) != nil || code != from {
		return errObj
	}
	_ = json.Unmarshal(e["message"], &msg)
	if match != nil && !match(msg) {
		return errObj
	}
	e["code"], _ = json.Marshal(to)
	b, _ := json.Marshal(e)
	return b
}

// capsJSON is what a legacy IDE declared in initialize that a server may
// use: the capabilities behind server→client requests, and extensions.
// It is encoded once, at initialize.
func (d *downstream) capsJSON() json.RawMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.capsRaw == nil {
		out := map[string]json.RawMessage{}
		for _, k := range []string{"sampling", "elicitation", "roots", "extensions"} {
			if v, ok := d.caps[k]; ok {
				out[k] = v
			}
		}
		d.capsRaw, _ = json.Marshal(out)
	}
	return d.capsRaw
}

// legacyModernError rewrites an error only a 2026-07-28 server sends for
// an IDE of the legacy era, which knows none of those codes: into the
// nearest JSON-RPC code, with words that say what it means.
func legacyModernError(errObj json.RawMessage) json.RawMessage {
	var e map[string]json.RawMessage
	if json.Unmarshal(errObj, &e) != nil {
		return errObj
	}
	var code int
	var msg string
	_ = json.Unmarshal(e["code"], &code)
	_ = json.Unmarshal(e["message"], &msg)
	var to int
	var what string
	switch code {
	case jsonrpc.CodeMissingRequiredClientCapability:
		to, what = jsonrpc.CodeInvalidRequest, "the server needs a client capability the IDE did not declare"
	case jsonrpc.CodeHeaderMismatch:
		to, what = jsonrpc.CodeInternalError, "the server found the request's MCP headers do not match its body (a fault in mcptray; please report it)"
	case jsonrpc.CodeUnsupportedProtocolVersion:
		to, what = jsonrpc.CodeInternalError, "the server does not support the protocol version mcptray used"
	default:
		return errObj
	}
	e["code"], _ = json.Marshal(to)
	e["message"], _ = json.Marshal(fmt.Sprintf("mcptray: %s (MCP error %d: %s)", what, code, msg))
	b, _ := json.Marshal(e)
	return b
}

// dropResultType removes a top-level "resultType":"complete" from a
// result, keeping every other byte as the server wrote it (decoding and
// encoding the result again cost more than the rest of the hub's work on
// a call, measured against an mcp-go server).
func dropResultType(result json.RawMessage) json.RawMessage {
	start, end, ok := topLevelMember(result, "resultType")
	if !ok {
		return setField(result, "resultType", nil)
	}
	out := make(json.RawMessage, 0, len(result)-(end-start))
	out = append(out, result[:start]...)
	return append(out, result[end:]...)
}

// topLevelMember finds the member key of a JSON object (valid JSON, as the
// transport checked) at its top level: the bytes [start, end) to cut so
// that the object stays valid (the member and one comma beside it).
func topLevelMember(obj []byte, key string) (start, end int, ok bool) {
	quoted := `"` + key + `"`
	depth, inString, escaped := 0, false, false
	lastComma, lastOpen := -1, -1
	for i := 0; i < len(obj); i++ {
		c := obj[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '{', '[':
			depth++
			if depth == 1 {
				lastOpen = i
			}
		case '}', ']':
			depth--
		case ',':
			if depth == 1 {
				lastComma = i
			}
		case '"':
			if depth == 1 && bytes.HasPrefix(obj[i:], []byte(quoted)) && isKeyStart(obj, i, lastComma, lastOpen) {
				valEnd, vok := skipMemberValue(obj, i+len(quoted))
				if !vok {
					return 0, 0, false
				}
				if lastComma > lastOpen {
					return lastComma, valEnd, true // ,"key":value
				}
				// The first member: take the comma after it, if any.
				j := valEnd
				for j < len(obj) && isSpace(obj[j]) {
					j++
				}
				if j < len(obj) && obj[j] == ',' {
					return i, j + 1, true
				}
				return i, valEnd, true
			}
			inString = true
		}
	}
	return 0, 0, false
}

// isKeyStart reports a string at i that starts a member: only space since
// the object's last comma or its opening brace.
func isKeyStart(obj []byte, i, lastComma, lastOpen int) bool {
	from := max(lastComma, lastOpen) + 1
	for k := from; k < i; k++ {
		if !isSpace(obj[k]) {
			return false
		}
	}
	return true
}

// skipMemberValue reads past `: value` after a key ending at i; it returns
// the index after the value.
func skipMemberValue(obj []byte, i int) (int, bool) {
	for i < len(obj) && isSpace(obj[i]) {
		i++
	}
	if i >= len(obj) || obj[i] != ':' {
		return 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(obj[i+1:]))
	var v json.RawMessage
	if dec.Decode(&v) != nil {
		return 0, false
	}
	return i + 1 + int(dec.InputOffset()), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
