package faultserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Kind names a fault that Inject can arm.
type Kind int

// The faults. Stream faults (CorruptSSE, CorruptSSEClose,
// CorruptSSEThenRespond, DropStream) apply to a JSON-RPC request that expects
// a response (the fault fires when that response is about to be written) or
// to a GET stream (the fault fires as soon as the stream is open; on the
// legacy transport right after the endpoint event). A modern
// subscriptions/listen request counts as a GET stream: its fault fires when
// its SSE response opens (with the subscriptions/acknowledged event, which
// DropStream and CorruptSSEClose therefore keep from the client). All other
// faults apply to any request.
const (
	// CorruptSSE writes an SSE event whose data: line is not JSON
	// (GarbageEvent) in place of the response, then keeps the connection
	// open without ever sending the real response, until the client gives
	// up or the server closes. On a GET stream the garbage is written when
	// the stream opens and the stream then carries on normally. On the
	// legacy SSE transport the response on the /sse stream is replaced by
	// the garbage and the stream carries on.
	CorruptSSE Kind = iota + 1
	// CorruptSSEClose writes the garbage event, then aborts the connection
	// (no terminating chunk: the client sees an unexpected EOF).
	CorruptSSEClose
	// CorruptSSEThenRespond writes the garbage event followed by the real
	// response; the stream then ends normally. Only a client that checks
	// every event notices.
	CorruptSSEThenRespond
	// DropStream aborts the connection once the response is about to be
	// written: the status line, the headers and any notification sent
	// before the result (e.g. notifications/progress) reach the client, the
	// result does not. On a GET stream it aborts right after the headers
	// (legacy: after the endpoint event).
	DropStream
	// ForgetSession404 matches a request that carries a session ID (the
	// Mcp-Session-Id header; legacy: the sessionId query parameter). The
	// session is forgotten for real: this request and every later one
	// carrying that ID is answered 404 with Body404, the session's GET
	// stream is ended, and mcp-go's state for it is dropped.
	ForgetSession404
	// ForgetSession400 is ForgetSession404 answered the way the reference
	// server (server-everything) answers a session it does not know:
	// status 400 with Body400.
	ForgetSession400
	// Status5xx answers Fault.Status (default 503) with a short text body and
	// the extra Fault.Header (e.g. Retry-After); the MCP server never sees
	// the request. Any status works, e.g. 429.
	Status5xx
	// Stall accepts the request and never answers: the handler holds it
	// until the client goes away or the server closes, then drops the
	// connection. With Fault.Delay > 0 the request is instead held for
	// Delay and then served normally (a slow server).
	Stall
	// Garbage200 answers 200 with Content-Type application/json and a body
	// that is not JSON (GarbageBody); the MCP server never sees the request.
	Garbage200
	// Modern400 answers 400 with a modern JSON-RPC error, as a 2026-07-28
	// server does: Fault.Code (default -32022 UnsupportedProtocolVersion,
	// whose data is {"supported": Fault.Supported (default
	// ["2026-07-28"]), "requested": the version the request declared}; other
	// codes carry no data), the request's id, Content-Type
	// application/json. Fault.Body, when set, replaces the whole body. The
	// MCP server never sees the request.
	Modern400
	// Legacy400 answers 400 with Content-Type application/json and a
	// legacy error body: Fault.Body, default Body400 (server-everything's
	// -32000 "Bad Request: No valid session ID provided"). A client probing
	// for the era must read it as "not modern". For a 400 with a plain-text
	// body use Status5xx with Status 400.
	Legacy400
)

var kindNames = map[Kind]string{
	CorruptSSE:            "CorruptSSE",
	CorruptSSEClose:       "CorruptSSEClose",
	CorruptSSEThenRespond: "CorruptSSEThenRespond",
	DropStream:            "DropStream",
	ForgetSession404:      "ForgetSession404",
	ForgetSession400:      "ForgetSession400",
	Status5xx:             "Status5xx",
	Stall:                 "Stall",
	Garbage200:            "Garbage200",
	Modern400:             "Modern400",
	Legacy400:             "Legacy400",
}

// String returns the Go name of the kind.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) isStreamFault() bool {
	switch k {
	case CorruptSSE, CorruptSSEClose, CorruptSSEThenRespond, DropStream:
		return true
	}
	return false
}

// Pseudo-methods that Fault.Method and Stats.Requests use for HTTP requests
// that carry no JSON-RPC method.
const (
	// MethodGET is a GET request: the standalone stream (streamable HTTP)
	// or the /sse stream (legacy transport).
	MethodGET = "GET"
	// MethodDELETE is a DELETE request (session termination).
	MethodDELETE = "DELETE"
	// MethodResponse is a POST carrying a JSON-RPC response from the client
	// (the answer to sampling/createMessage, elicitation/create, roots/list).
	MethodResponse = "response"
	// MethodUnknown is a POST whose body is not a single JSON-RPC message.
	MethodUnknown = "unknown"
)

// Fault describes one injected failure. Inject queues it; each incoming
// request takes the first queued fault that matches it (at most one fault
// per request), which uses up one of the fault's Count.
type Fault struct {
	// Kind is what happens.
	Kind Kind
	// Method restricts the fault to requests with this JSON-RPC method
	// (e.g. "tools/call") or pseudo-method (MethodGET, MethodDELETE,
	// MethodResponse). "" matches any request.
	Method string
	// Tool further restricts a "tools/call" fault to calls of this tool.
	// "" matches any tool.
	Tool string
	// Count is how many matching requests the fault applies to: 0 means 1,
	// a negative value means every matching request until ClearFaults.
	Count int
	// Status is the HTTP status for Status5xx (default 503).
	Status int
	// Header holds extra response headers for Status5xx, e.g.
	// http.Header{"Retry-After": {"1"}}.
	Header http.Header
	// Delay is how long Stall holds the request before serving it; 0 holds
	// it forever.
	Delay time.Duration
	// Code is the JSON-RPC error code of Modern400 (default -32022).
	Code int
	// Supported is the version list of a -32022 Modern400 (default
	// ["2026-07-28"]).
	Supported []string
	// Body replaces the body of Modern400 or Legacy400.
	Body string
}

// Wire bodies written by the faults.
const (
	// GarbageData is the payload of the data: line that the CorruptSSE
	// faults write. It starts like a JSON-RPC message but is not JSON.
	GarbageData = `{"jsonrpc":"2.0","id": <<< this is not JSON >>>`
	// GarbageEvent is the whole SSE event the CorruptSSE faults write.
	GarbageEvent = "event: message\ndata: " + GarbageData + "\n\n"
	// GarbageBody is the body Garbage200 answers with.
	GarbageBody = "<<< this is not JSON >>>\n"
	// Body404 is the body of a 404 for a forgotten session, the one the
	// TypeScript SDK's transport sends (Content-Type application/json).
	Body404 = `{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}`
	// Body400 is the body the reference server (server-everything) sends
	// with a 400 for a session ID it does not know, e.g. after a restart
	// (Content-Type application/json).
	Body400 = `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}`
)

// armedFault is a queued fault with the number of applications left
// (negative: unlimited).
type armedFault struct {
	f    Fault
	left int
}

// reqInfo is what fault matching knows about a request.
type reqInfo struct {
	method  string          // JSON-RPC method or pseudo-method
	tool    string          // params.name of a tools/call
	id      string          // compact JSON of the request id; "" for notifications/responses
	session string          // session ID carried by the request ("" = none; modern requests never have one)
	rawID   json.RawMessage // the request id as sent (nil for none)
	version string          // protocol version the request declared (header, _meta or initialize params)
	modern  bool            // the request declared 2026-07-28 or later
	stream  bool            // GET stream
	// streamOK tells whether a stream fault can be delivered (legacy POST
	// /message: only when the session's /sse stream is known).
	streamOK bool
}

func (ri reqInfo) expectsResponse() bool {
	return ri.id != "" && ri.method != MethodResponse && ri.method != MethodUnknown
}

func (ri reqInfo) describe() string {
	s := ri.method
	if ri.tool != "" {
		s += "(" + ri.tool + ")"
	}
	if ri.session != "" {
		s += " session=" + ri.session
	}
	return s
}

// applies reports whether f can apply to the request.
func (f *Fault) applies(ri reqInfo) bool {
	if f.Method != "" && f.Method != ri.method {
		return false
	}
	if f.Tool != "" && f.Tool != ri.tool {
		return false
	}
	switch {
	case f.Kind.isStreamFault():
		return ri.streamOK && (ri.stream || ri.expectsResponse())
	case f.Kind == ForgetSession404 || f.Kind == ForgetSession400:
		return ri.session != "" && ri.method != "initialize"
	case f.Kind == Status5xx || f.Kind == Stall || f.Kind == Garbage200 ||
		f.Kind == Modern400 || f.Kind == Legacy400:
		return true
	}
	return false
}

// msgInfo is what parseMessage learns from a POST body.
type msgInfo struct {
	method string
	tool   string
	id     string
	rawID  json.RawMessage
	// metaVersion is params._meta["io.modelcontextprotocol/protocolVersion"]
	// (modern requests), initVersion params.protocolVersion of initialize.
	metaVersion string
	initVersion string
}

func parseMessage(body []byte) msgInfo {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return msgInfo{method: MethodUnknown}
	}
	id := compactID(msg.ID)
	if msg.Method == "" {
		if id != "" && (msg.Result != nil || msg.Error != nil) {
			return msgInfo{method: MethodResponse, id: id}
		}
		return msgInfo{method: MethodUnknown}
	}
	mi := msgInfo{method: msg.Method, id: id, rawID: msg.ID}
	if len(msg.Params) > 0 {
		var p struct {
			Name            string         `json:"name"`
			ProtocolVersion string         `json:"protocolVersion"`
			Meta            map[string]any `json:"_meta"`
		}
		if json.Unmarshal(msg.Params, &p) == nil {
			if msg.Method == "tools/call" {
				mi.tool = p.Name
			}
			if msg.Method == "initialize" {
				mi.initVersion = p.ProtocolVersion
			}
			mi.metaVersion, _ = p.Meta[metaKeyProtocolVersion].(string)
		}
	}
	return mi
}

// compactID returns a canonical form of a JSON-RPC id, "" for none or null.
func compactID(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func writeStatusFault(w http.ResponseWriter, f Fault) {
	code := f.Status
	if code == 0 {
		code = http.StatusServiceUnavailable
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "%d %s (injected by faultserver)\n", code, http.StatusText(code))
}

// writeModern400 answers the Modern400 fault.
func writeModern400(w http.ResponseWriter, ri reqInfo, f Fault) {
	if f.Body != "" {
		writeJSONStatus(w, http.StatusBadRequest, []byte(f.Body))
		return
	}
	code := f.Code
	if code == 0 {
		code = codeUnsupportedProtocolVersion
	}
	if code == codeUnsupportedProtocolVersion {
		supported := f.Supported
		if supported == nil {
			supported = []string{ModernVersion}
		}
		writeJSONStatus(w, http.StatusBadRequest, unsupportedVersionBody(ri.rawID, ri.version, supported, ""))
		return
	}
	writeJSONStatus(w, http.StatusBadRequest, errorBody(ri.rawID, code, "injected by faultserver", nil))
}

// writeLegacy400 answers the Legacy400 fault.
func writeLegacy400(w http.ResponseWriter, f Fault) {
	body := f.Body
	if body == "" {
		body = Body400
	}
	writeJSONStatus(w, http.StatusBadRequest, []byte(body))
}

func writeJSONStatus(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeGarbage200(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(GarbageBody))
}

// writeSessionGone answers a request for a forgotten session.
func writeSessionGone(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusBadRequest {
		_, _ = w.Write([]byte(Body400))
		return
	}
	_, _ = w.Write([]byte(Body404))
}
