package mcpclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// JSON-RPC error codes used by the hub. The -320xx range is reserved by
// JSON-RPC for implementation-defined server errors.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603

	// CodeUpstreamUnavailable: the upstream could not be reached in time.
	CodeUpstreamUnavailable = -32010
	// CodeNeedsLogin: the upstream needs a browser sign-in first.
	CodeNeedsLogin = -32011
	// CodeLostInFlight: the upstream connection broke while a request that
	// must not be retried (tools/call) was running.
	CodeLostInFlight = -32012
	// CodeServerDisabled: the server is disabled or failed permanently.
	CodeServerDisabled = -32013
	// -32014…-32016 are the bridge's (mcpclient/bridge).

	// CodeMessageTooLarge: a message was over the maxMessageSize limit.
	CodeMessageTooLarge = -32017
	// CodeRequestTimeout: the server did not answer within requestTimeout.
	CodeRequestTimeout = -32018
)

// message is one JSON-RPC 2.0 message, kept raw: ids, params, results and
// errors are passed on byte-for-byte.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (m *message) hasID() bool {
	return len(m.ID) > 0 && !bytes.Equal(m.ID, []byte("null"))
}

// isRequest reports a request (method and id).
func (m *message) isRequest() bool { return m.Method != "" && m.hasID() }

// isNotification reports a notification (method, no id).
func (m *message) isNotification() bool { return m.Method != "" && !m.hasID() }

// isResponse reports a response (no method, result or error).
func (m *message) isResponse() bool {
	return m.Method == "" && (m.Result != nil || m.Error != nil)
}

// parseMessage decodes one JSON-RPC message. A JSON array (a batch) is
// reported as errBatch.
func parseMessage(b []byte) (*message, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return nil, errBatch
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Method == "" && m.Result == nil && m.Error == nil {
		return nil, errNotJSONRPC
	}
	return &m, nil
}

var (
	errBatch      = fmt.Errorf("JSON-RPC batches are not supported by MCP since 2025-06-18")
	errNotJSONRPC = fmt.Errorf("not a JSON-RPC request, notification or response")
)

// rpcError is the error object of a JSON-RPC response.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// encodeResponse builds a response line with the given raw id and the raw
// result or error bytes, without re-encoding them.
func encodeResponse(id json.RawMessage, result, errObj json.RawMessage) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	var b bytes.Buffer
	b.Grow(len(id) + len(result) + len(errObj) + 40)
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(id)
	if errObj != nil {
		b.WriteString(`,"error":`)
		b.Write(errObj)
	} else {
		b.WriteString(`,"result":`)
		if result == nil {
			result = json.RawMessage("{}")
		}
		b.Write(result)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// encodeError builds an error response line.
func encodeError(id json.RawMessage, code int, msg string, data any) []byte {
	e := rpcError{Code: code, Message: msg}
	if data != nil {
		e.Data, _ = json.Marshal(data)
	}
	eb, _ := json.Marshal(e)
	return encodeResponse(id, nil, eb)
}

// encodeRequest builds a request or notification line (id nil for a
// notification). params is passed on as is.
func encodeRequest(id json.RawMessage, method string, params json.RawMessage) []byte {
	var b bytes.Buffer
	b.Grow(len(params) + len(method) + 48)
	b.WriteString(`{"jsonrpc":"2.0",`)
	if id != nil {
		b.WriteString(`"id":`)
		b.Write(id)
		b.WriteByte(',')
	}
	b.WriteString(`"method":`)
	mb, _ := json.Marshal(method)
	b.Write(mb)
	if len(params) > 0 {
		b.WriteString(`,"params":`)
		b.Write(params)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// intID renders an int64 request id as raw JSON.
func intID(n int64) json.RawMessage { return strconv.AppendInt(nil, n, 10) }

// idKey turns a raw id into a map key: "1" and 1 stay distinct, and
// insignificant white space does not matter.
func idKey(id json.RawMessage) string {
	return string(bytes.TrimSpace(id))
}

// idempotent reports whether a request may be sent again on a new session
// when its first try was lost: reads are, tools/call and anything unknown
// are not (they may have run).
func idempotent(method string) bool {
	switch method {
	case "ping", "tools/list", "resources/list", "resources/templates/list",
		"resources/read", "prompts/list", "prompts/get", "completion/complete",
		"resources/subscribe", "resources/unsubscribe", "logging/setLevel":
		return true
	}
	return false
}
