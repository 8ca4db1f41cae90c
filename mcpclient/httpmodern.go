package mcpclient

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Modern (2026-07-28) requests on the endpoint: no session; each request
// carries its protocol version in params._meta and mirrors it, its method
// and its name in headers, which must match the body. Each request gets a
// downstream of its own for as long as its response stream is open: the
// stream carries that request's notifications and its response, closing
// it cancels the request, and a subscriptions/listen request keeps it
// open. A request the hub answered with input_required while its upstream
// request waits (a legacy server's elicitation, sampling or roots
// request, parked by the hub) keeps its downstream until the IDE's retry,
// which carries the hub's requestState, comes to it. What the downstream answers (server/discover, MRTR, listen) is
// the downstream's business; this file only carries it.

// Error codes of revision 2026-07-28 (basic/index "Error Codes").
const (
	codeHeaderMismatch             = -32020
	codeUnsupportedProtocolVersion = -32022
)

const (
	hdrMethod = "Mcp-Method"
	hdrName   = "Mcp-Name"
	metaProto = "io.modelcontextprotocol/protocolVersion"
)

// modernVersion reads params._meta's protocol version, "" if none.
func modernVersion(params json.RawMessage) string {
	if len(params) == 0 {
		return ""
	}
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	var v string
	_ = json.Unmarshal(p.Meta[metaProto], &v)
	return v
}

// isModernVersion: a date-shaped version from 2026-07-28 on.
func isModernVersion(v string) bool {
	return len(v) == len("2026-07-28") && v >= "2026-07-28"
}

// isModern reports a sessionless request to be served as the modern era
// serves it: its body's _meta names a protocol version (of any era: an
// unknown one gets UnsupportedProtocolVersion, a legacy one in _meta is
// not how a legacy client speaks), or its MCP-Protocol-Version header
// names a version that is not a legacy one the hub serves. A legacy
// client's sessionless request (a legacy header or none) is not.
func isModern(m *jsonrpc.Message, h http.Header) bool {
	if v := modernVersion(m.Params); v != "" {
		return !supportedLegacy(v)
	}
	hv := h.Get(hdrProtocol)
	return hv != "" && !supportedLegacy(hv)
}

func isModernHeader(h http.Header) bool { return isModernVersion(h.Get(hdrProtocol)) }

// checkModernHeaders validates the mirrored headers against the body; it
// returns the HTTP status and JSON-RPC error for a mismatch.
func checkModernHeaders(m *jsonrpc.Message, h http.Header) (status, code int, msg string) {
	body := modernVersion(m.Params)
	hv := h.Get(hdrProtocol)
	switch {
	case hv == "":
		return http.StatusBadRequest, codeHeaderMismatch, "Header mismatch: the " + hdrProtocol + " header is missing"
	case body == "":
		return http.StatusBadRequest, jsonrpc.CodeInvalidParams, "Invalid params: params._meta lacks " + metaProto
	case hv != body:
		return http.StatusBadRequest, codeHeaderMismatch, fmt.Sprintf("Header mismatch: %s header value %q does not match body value %q", hdrProtocol, hv, body)
	}
	if !supportedModern(body) {
		return http.StatusBadRequest, codeUnsupportedProtocolVersion, fmt.Sprintf("Unsupported protocol version %q", body)
	}
	if msg := checkModernMeta(m.Params); msg != "" {
		return http.StatusBadRequest, jsonrpc.CodeInvalidParams, msg
	}
	if m.IsRequest() || h.Get(hdrMethod) != "" {
		if got := h.Get(hdrMethod); got != m.Method {
			if got == "" {
				return http.StatusBadRequest, codeHeaderMismatch, "Header mismatch: the " + hdrMethod + " header is missing"
			}
			return http.StatusBadRequest, codeHeaderMismatch, fmt.Sprintf("Header mismatch: %s header value %q does not match body value %q", hdrMethod, got, m.Method)
		}
	}
	if key := nameField(m.Method); key != "" {
		var p map[string]json.RawMessage
		_ = json.Unmarshal(m.Params, &p)
		var want string
		_ = json.Unmarshal(p[key], &want)
		raw, present := h[http.CanonicalHeaderKey(hdrName)]
		if !present || len(raw) != 1 {
			return http.StatusBadRequest, codeHeaderMismatch, "Header mismatch: the " + hdrName + " header is missing"
		}
		got, ok := decodeHeaderValue(raw[0])
		if !ok {
			return http.StatusBadRequest, codeHeaderMismatch, "Header mismatch: the " + hdrName + " header is malformed"
		}
		if got != want {
			return http.StatusBadRequest, codeHeaderMismatch, fmt.Sprintf("Header mismatch: %s header value %q does not match body value %q", hdrName, got, want)
		}
	}
	return 0, 0, ""
}

// nameField is the params field Mcp-Name mirrors for method.
func nameField(method string) string {
	switch method {
	case "tools/call", "prompts/get":
		return "name"
	case "resources/read":
		return "uri"
	}
	return ""
}

// decodeHeaderValue undoes the =?base64?…?= sentinel encoding.
func decodeHeaderValue(v string) (string, bool) {
	inner, ok := strings.CutPrefix(v, "=?base64?")
	if !ok {
		return v, true
	}
	inner, ok = strings.CutSuffix(inner, "?=")
	if !ok {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(inner)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func supportedModern(v string) bool {
	for _, s := range config.ModernProtocolVersions {
		if s == v {
			return true
		}
	}
	return false
}

// modern serves one modern request on a downstream of its own.
func (ep *httpEndpoint) modern(w http.ResponseWriter, r *http.Request, u *supervisor, m *jsonrpc.Message, line []byte) {
	if status, code, msg := checkModernHeaders(m, r.Header); status != 0 {
		var data any
		if code == codeUnsupportedProtocolVersion {
			data = map[string]any{"supported": config.ModernProtocolVersions, "requested": modernVersion(m.Params)}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(jsonrpc.EncodeError(m.ID, code, msg, data))
		return
	}
	if !m.IsRequest() {
		// No client notification is defined over HTTP in this revision;
		// accept and drop (closing a stream is the cancel).
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// A retry of a request the hub parked (a legacy server asked for
	// input) goes to the downstream that parked it; any other request
	// gets one of its own.
	var s *httpSession
	if tok := parkToken(m.Params); tok != "" {
		s = ep.takeParked(tok, u.name)
	}
	if s == nil {
		s = ep.openSession(u, true)
	}
	keep := false
	defer func() {
		if !keep {
			s.end() // the request's downstream ends with its stream
		}
	}()
	st := newStream()
	st.statusOf = modernStatus
	defer close(st.gone)
	idKey, tokenKey := jsonrpc.IDKey(m.ID), progressTokenKey(m.Params)
	s.begin(st, idKey, tokenKey)
	defer s.finish(st, idKey, tokenKey)
	if s.send(line) != nil {
		httpFail(w, http.StatusServiceUnavailable, m.ID, jsonrpc.CodeInternalError, "mcptray: the hub is stopping")
		return
	}
	if s.answer(w, r, st, nil) {
		if tok := parkedState(st.final); tok != "" {
			keep = ep.keepParked(tok, s, time.Duration(u.limits().RequestTimeout)*time.Second+httpParkGrace)
		}
	}
}

// modernStatus is the HTTP status of a modern request's answer sent as a
// single JSON body (streamed answers are 200 from their first event): the
// transport puts 404 on a method the server does not implement, and 400
// on the version, header and capability errors.
func modernStatus(final []byte) int {
	if !bytes.Contains(final, []byte(`"error"`)) {
		return http.StatusOK
	}
	var r struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(final, &r) != nil || r.Error == nil {
		return http.StatusOK
	}
	switch r.Error.Code {
	case jsonrpc.CodeMethodNotFound:
		return http.StatusNotFound
	case jsonrpc.CodeHeaderMismatch, jsonrpc.CodeMissingRequiredClientCapability, jsonrpc.CodeUnsupportedProtocolVersion:
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// httpParkGrace is how long past its request timeout a parked request's
// downstream is kept: the hub's own reaping (at the timeout) comes first.
const httpParkGrace = 5 * time.Second

// parkedState is the hub's requestState in an input_required answer, ""
// for any other line. Only a legacy server's request for input is parked
// (mrtr_park.go); a modern server's input_required carries the server's
// own state and needs no downstream kept.
func parkedState(line []byte) string {
	if !bytes.Contains(line, []byte(parkStatePrefix)) {
		return ""
	}
	var m struct {
		Result struct {
			ResultType   string `json:"resultType"`
			RequestState string `json:"requestState"`
		} `json:"result"`
	}
	if json.Unmarshal(line, &m) != nil || m.Result.ResultType != "input_required" || !strings.HasPrefix(m.Result.RequestState, parkStatePrefix) {
		return ""
	}
	return m.Result.RequestState
}

// keepParked keeps s, whose request was parked under tok, for the IDE's
// retry; after within (or when the hub ends it) it ends. It reports false
// when the endpoint is closing.
func (ep *httpEndpoint) keepParked(tok string, s *httpSession, within time.Duration) bool {
	ep.mu.Lock()
	if ep.ctx.Err() != nil {
		ep.mu.Unlock()
		return false
	}
	ep.parked[tok] = s
	ep.mu.Unlock()
	time.AfterFunc(within, func() {
		if p := ep.takeParked(tok, s.server); p != nil {
			p.end()
		}
	})
	return true
}

// takeParked takes the downstream kept for the parked request tok of
// server name, nil if none (expired, ended, another server's).
func (ep *httpEndpoint) takeParked(tok, name string) *httpSession {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	s := ep.parked[tok]
	if s == nil || s.server != name {
		return nil
	}
	delete(ep.parked, tok)
	select {
	case <-s.done:
		return nil
	default:
	}
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return nil
	}
	return s
}
