package faultserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Protocol eras accepted in Options.Era (Streamable HTTP only).
const (
	// EraLegacy is a pre-2026 server (the default): initialize and
	// Mcp-Session-Id, no server/discover. It answers the way the reference
	// server (server-everything) does; see Options.Era.
	EraLegacy = "legacy"
	// EraDual serves both eras on /mcp, as mcp-go does by default: a
	// request with modern _meta is served statelessly, initialize opens a
	// legacy session.
	EraDual = "dual"
	// EraModern serves only revision 2026-07-28: it refuses initialize and
	// every other request without modern _meta, answers GET and DELETE with
	// 405 and ignores Mcp-Session-Id.
	EraModern = "modern"
)

// ModernVersion is the protocol revision a modern or dual server speaks.
const ModernVersion = mcp.ProtocolVersion20260728

// codeUnsupportedProtocolVersion is -32022 UnsupportedProtocolVersion.
const codeUnsupportedProtocolVersion = mcp.UNSUPPORTED_PROTOCOL_VERSION

const metaKeyProtocolVersion = mcp.MetaKeyProtocolVersion

// BodyNotInitialized is the body (with status 400) a legacy-era server
// answers a POST with that is not initialize and carries no Mcp-Session-Id
// header, e.g. a modern server/discover probe. It is byte for byte what the
// pinned server-everything sends: its Express handler hands a request
// without a session ID to a fresh TypeScript-SDK transport, which refuses
// anything but initialize with this error.
const BodyNotInitialized = `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: Server not initialized"},"id":null}`

// legacySupported is what a legacy-era server supports.
var legacySupported = mcp.LegacyProtocolVersions()

// BodyUnsupportedLegacy is the body (with status 400) a legacy-era server
// answers a request with whose Mcp-Protocol-Version header names a version
// it does not support (e.g. 2026-07-28) on a valid session; it is the
// TypeScript SDK's answer.
func BodyUnsupportedLegacy(version string) string {
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"error": map[string]any{
			"code": -32000,
			"message": fmt.Sprintf("Bad Request: Unsupported protocol version: %s (supported versions: %s)",
				version, strings.Join(legacySupported, ", ")),
		},
		"id": nil,
	})
	return string(b)
}

// errorBody renders a JSON-RPC error response.
func errorBody(id json.RawMessage, code int, message string, data any) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	e := map[string]any{"code": code, "message": message}
	if data != nil {
		e["data"] = data
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
	return b
}

// unsupportedVersionBody renders a -32022 UnsupportedProtocolVersion error
// naming the supported versions.
func unsupportedVersionBody(id json.RawMessage, requested string, supported []string, why string) []byte {
	msg := fmt.Sprintf("Unsupported protocol version %q (supported: %s)", requested, strings.Join(supported, ", "))
	if why != "" {
		msg += ": " + why
	}
	return errorBody(id, codeUnsupportedProtocolVersion, msg, map[string]any{
		"supported": supported,
		"requested": requested,
	})
}

// isModern reports whether version is 2026-07-28 or later.
func isModern(version string) bool { return mcp.IsModernProtocol(version) }

// eraGate applies the era rules to a request that no fault answered. It
// reports whether it answered the request itself; if not, it may have
// rewritten r (headers, body) for mcp-go.
func (s *Server) eraGate(w http.ResponseWriter, r *http.Request, ri reqInfo, m msgInfo, body []byte) bool {
	hdr := r.Header.Get(mcp.HeaderProtocolVersion)
	post := r.Method == http.MethodPost
	refuse := func(status int, body []byte, why string) bool {
		s.mu.Lock()
		s.stats.EraRefusals++
		s.mu.Unlock()
		s.logf("faultserver: %s era refuses %s %s: %d (%s)", s.opts.Era, r.Method, ri.describe(), status, why)
		writeJSONStatus(w, status, body)
		return true
	}
	switch s.opts.Era {
	case EraModern:
		if !post {
			s.mu.Lock()
			s.stats.EraRefusals++
			s.mu.Unlock()
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, r.Method+" is not supported by this server (protocol version "+ModernVersion+
				" only): server-to-client messages use subscriptions/listen", http.StatusMethodNotAllowed)
			return true
		}
		if !ri.modern {
			why := "this server speaks only the stateless revision and has no initialize"
			if m.method != "initialize" {
				why = "requests must carry " + metaKeyProtocolVersion + " in _meta"
			}
			return refuse(http.StatusBadRequest,
				unsupportedVersionBody(m.rawID, ri.version, []string{ModernVersion}, why), why)
		}
		s.countModern()
		return false
	case EraDual:
		if ri.modern {
			if post {
				s.countModern()
			}
			return false
		}
		if post && m.method != "initialize" && r.Header.Get("Mcp-Session-Id") == "" {
			return refuse(http.StatusBadRequest, []byte(BodyNotInitialized), "no session")
		}
		if !post && r.Header.Get("Mcp-Session-Id") == "" {
			return refuse(http.StatusBadRequest, []byte(Body400), "no session")
		}
		return false
	}
	// Legacy: never a modern answer.
	session := r.Header.Get("Mcp-Session-Id")
	if post && m.method == "initialize" {
		if isModern(hdr) {
			r.Header.Del(mcp.HeaderProtocolVersion)
		}
		stripModernMeta(r, m, body)
		return false
	}
	if session == "" {
		if post {
			return refuse(http.StatusBadRequest, []byte(BodyNotInitialized), "no session")
		}
		return refuse(http.StatusBadRequest, []byte(Body400), "no session")
	}
	if hdr != "" && !slices.Contains(legacySupported, hdr) {
		return refuse(http.StatusBadRequest, []byte(BodyUnsupportedLegacy(hdr)), "unsupported version "+hdr)
	}
	if post {
		stripModernMeta(r, m, body)
	}
	return false
}

func (s *Server) countModern() {
	s.mu.Lock()
	s.stats.ModernRequests++
	s.mu.Unlock()
}

// stripModernMeta removes a modern protocol version from the request's
// params._meta, so that mcp-go serves it as the legacy server it plays
// (which would ignore the key) instead of as a modern one.
func stripModernMeta(r *http.Request, m msgInfo, body []byte) {
	if !isModern(m.metaVersion) {
		return
	}
	var msg map[string]json.RawMessage
	if json.Unmarshal(body, &msg) != nil {
		return
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(msg["params"], &params) != nil {
		return
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(params["_meta"], &meta) != nil {
		return
	}
	delete(meta, metaKeyProtocolVersion)
	var err error
	if params["_meta"], err = json.Marshal(meta); err != nil {
		return
	}
	if msg["params"], err = json.Marshal(params); err != nil {
		return
	}
	nb, err := json.Marshal(msg)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(nb))
	r.ContentLength = int64(len(nb))
	r.Header.Set("Content-Length", strconv.Itoa(len(nb)))
}

// requestVersion is the protocol version a request declares: the _meta
// key, else the initialize params, else the header.
func requestVersion(r *http.Request, m msgInfo) string {
	switch {
	case m.metaVersion != "":
		return m.metaVersion
	case m.initVersion != "":
		return m.initVersion
	}
	return r.Header.Get(mcp.HeaderProtocolVersion)
}
