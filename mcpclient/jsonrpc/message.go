package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Error codes. JSON-RPC's own, then every code mcptray itself emits: the
// -320xx range is reserved by JSON-RPC for implementation-defined server
// errors. This is the one table: the hub, the bridge and the control API
// use these names.
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
	// CodeHubUnavailable: the bridge reaches no hub (none answers, or
	// stdin closed before the answer came).
	CodeHubUnavailable = -32014
	// CodeHubRestarted: the hub went away while the request was in flight.
	CodeHubRestarted = -32015
	// CodeAttachRefused: the hub refused the bridge's attach (e.g. no
	// server of that name).
	CodeAttachRefused = -32016
	// CodeMessageTooLarge: a message was over the maxMessageSize limit.
	CodeMessageTooLarge = -32017
	// CodeRequestTimeout: the server did not answer within requestTimeout.
	CodeRequestTimeout = -32018

	// Codes MCP revision 2026-07-28 defines (its reserved -32020…-32099).
	//
	// CodeHeaderMismatch: HTTP headers that do not match the body.
	CodeHeaderMismatch = -32020
	// CodeMissingRequiredClientCapability: the request needs a client
	// capability the client did not declare.
	CodeMissingRequiredClientCapability = -32021
	// CodeUnsupportedProtocolVersion: the protocol version is not served;
	// data.supported lists those that are.
	CodeUnsupportedProtocolVersion = -32022
	// CodeResourceNotFound is how revisions up to 2025-11-25 report an
	// unknown resource; 2026-07-28 uses CodeInvalidParams instead.
	CodeResourceNotFound = -32002
)

// IsModernError reports a code that only a server of revision 2026-07-28
// or later sends: one in an answer identifies the server's era.
func IsModernError(code int) bool {
	return code == CodeHeaderMismatch || code == CodeMissingRequiredClientCapability || code == CodeUnsupportedProtocolVersion
}

// Message is one JSON-RPC 2.0 message, kept raw: ids, params, results and
// errors are passed on byte-for-byte.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (m *Message) HasID() bool {
	return len(m.ID) > 0 && !bytes.Equal(m.ID, []byte("null"))
}

// IsRequest reports a request (method and id).
func (m *Message) IsRequest() bool { return m.Method != "" && m.HasID() }

// IsNotification reports a notification (method, no id).
func (m *Message) IsNotification() bool { return m.Method != "" && !m.HasID() }

// IsResponse reports a response (no method, result or error).
func (m *Message) IsResponse() bool {
	return m.Method == "" && (m.Result != nil || m.Error != nil)
}

// Parse decodes one JSON-RPC message. A JSON array (a batch) is
// reported as ErrBatch.
func Parse(b []byte) (*Message, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return nil, ErrBatch
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Method == "" && m.Result == nil && m.Error == nil {
		return nil, ErrNotJSONRPC
	}
	return &m, nil
}

var (
	ErrBatch      = fmt.Errorf("JSON-RPC batches are not supported by MCP since 2025-06-18")
	ErrNotJSONRPC = fmt.Errorf("not a JSON-RPC request, notification or response")
)

// Error is the error object of a JSON-RPC response.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// EncodeResponse builds a response line with the given raw id and the raw
// result or error bytes, without re-encoding them.
func EncodeResponse(id json.RawMessage, result, errObj json.RawMessage) []byte {
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

// EncodeError builds an error response line.
func EncodeError(id json.RawMessage, code int, msg string, data any) []byte {
	e := Error{Code: code, Message: msg}
	if data != nil {
		e.Data, _ = json.Marshal(data)
	}
	eb, _ := json.Marshal(e)
	return EncodeResponse(id, nil, eb)
}

// EncodeRequest builds a request or notification line (id nil for a
// notification). params is passed on as is.
func EncodeRequest(id json.RawMessage, method string, params json.RawMessage) []byte {
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

// IntID renders an int64 request id as raw JSON.
func IntID(n int64) json.RawMessage { return strconv.AppendInt(nil, n, 10) }

// IDKey turns a raw id into a map key: "1" and 1 stay distinct, and
// insignificant white space does not matter.
func IDKey(id json.RawMessage) string {
	return string(bytes.TrimSpace(id))
}
