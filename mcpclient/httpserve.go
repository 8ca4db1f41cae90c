package mcpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// The endpoint's methods for a server: POST carries one message, GET
// opens a legacy session's standalone stream, DELETE ends the session.

const (
	hdrSession  = "Mcp-Session-Id"
	hdrProtocol = "Mcp-Protocol-Version"
)

// post reads one JSON-RPC message and hands it to its session (legacy),
// to a new session (initialize), or to a downstream of its own (modern).
func (ep *httpEndpoint) post(w http.ResponseWriter, r *http.Request, u *supervisor) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		httpFail(w, http.StatusUnsupportedMediaType, nil, jsonrpc.CodeInvalidRequest, "mcptray: the body must be application/json")
		return
	}
	if !acceptsBoth(r.Header.Get("Accept")) {
		httpFail(w, http.StatusNotAcceptable, nil, jsonrpc.CodeInvalidRequest, "mcptray: the Accept header must list application/json and text/event-stream")
		return
	}
	limit := u.limits().MaxMessageSize
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ep.log.Warn("an HTTP IDE sent a message over the size limit; refused it", "server", u.name, "limit", limit)
			httpFail(w, http.StatusRequestEntityTooLarge, nil, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("mcptray: the message is larger than the %s limit for server %q (maxMessageSize in the mcptray config)", jsonrpc.FormatSize(limit), u.name))
			return
		}
		return // the IDE went away mid-body
	}
	m, err := jsonrpc.Parse(body)
	if err != nil {
		code, text := jsonrpc.CodeParseError, "mcptray: parse error: the body is not valid JSON"
		switch {
		case errors.Is(err, jsonrpc.ErrBatch):
			code, text = jsonrpc.CodeInvalidRequest, "mcptray: "+err.Error()
		case errors.Is(err, jsonrpc.ErrNotJSONRPC):
			code, text = jsonrpc.CodeInvalidRequest, "mcptray: invalid request: "+err.Error()
		}
		httpFail(w, http.StatusBadRequest, nil, code, text)
		return
	}
	line, err := jsonrpc.Frame(body)
	if err != nil {
		httpFail(w, http.StatusBadRequest, nil, jsonrpc.CodeParseError, "mcptray: parse error: the body is not valid JSON")
		return
	}
	if m.Method != "" && len(m.ID) > 0 && !m.HasID() {
		httpFail(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "mcptray: invalid request: the id must be a string or an integer, not null")
		return
	}

	sid := r.Header.Get(hdrSession)
	switch {
	case sid != "":
		s := ep.session(sid)
		if s == nil || s.server != u.name {
			httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "mcptray: unknown session (the hub restarted or ended it); start a new one with initialize")
			return
		}
		if v := r.Header.Get(hdrProtocol); v != "" && !supportedLegacy(v) {
			httpFail(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: unsupported %s %q", hdrProtocol, v))
			return
		}
		ep.inSession(w, r, s, m, line, nil)
	case m.Method == "initialize" && m.IsRequest() && modernVersion(m.Params) == "" && !isModernHeader(r.Header):
		s := ep.openSession(u, false)
		ep.register(s)
		ok := ep.inSession(w, r, s, m, line, func(h http.Header) { h.Set(hdrSession, s.id) })
		if !ok {
			s.end()
		}
	case isModern(m, r.Header):
		ep.modern(w, r, u, m, line)
	default:
		httpFail(w, http.StatusBadRequest, m.ID, jsonrpc.CodeInvalidRequest, "mcptray: Bad Request: no "+hdrSession+" header; a session starts with initialize")
	}
}

// inSession passes a message to a legacy session and, for a request,
// streams its answer. ok reports that the request was answered.
func (ep *httpEndpoint) inSession(w http.ResponseWriter, r *http.Request, s *httpSession, m *jsonrpc.Message, line []byte, header func(http.Header)) (ok bool) {
	if !m.IsRequest() {
		// A notification or the IDE's answer to a server request.
		if m.IsResponse() {
			s.mu.Lock()
			delete(s.sreqs, jsonrpc.IDKey(m.ID))
			s.mu.Unlock()
		}
		if s.send(line) != nil {
			httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "mcptray: the session ended; start a new one with initialize")
			return false
		}
		w.WriteHeader(http.StatusAccepted)
		return true
	}
	st := newStream()
	defer close(st.gone)
	idKey, tokenKey := jsonrpc.IDKey(m.ID), progressTokenKey(m.Params)
	if !s.begin(st, idKey, tokenKey) {
		httpFail(w, http.StatusBadRequest, m.ID, jsonrpc.CodeInvalidRequest, "mcptray: a request with this id is already in progress in this session")
		return false
	}
	defer s.finish(st, idKey, tokenKey)
	if s.send(line) != nil {
		httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "mcptray: the session ended; start a new one with initialize")
		return false
	}
	return s.answer(w, r, st, header)
}

// progressTokenKey is the key of params._meta.progressToken, "" if none.
func progressTokenKey(params json.RawMessage) string {
	if len(params) == 0 {
		return ""
	}
	var p struct {
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil || len(p.Meta.ProgressToken) == 0 || string(p.Meta.ProgressToken) == "null" {
		return ""
	}
	return jsonrpc.IDKey(p.Meta.ProgressToken)
}

// get opens a legacy session's standalone SSE stream: the server's
// messages that belong to no request in progress.
func (ep *httpEndpoint) get(w http.ResponseWriter, r *http.Request, u *supervisor) {
	sid := r.Header.Get(hdrSession)
	if sid == "" {
		if isModernHeader(r.Header) {
			httpFail(w, http.StatusMethodNotAllowed, nil, jsonrpc.CodeInvalidRequest, "mcptray: protocol 2026-07-28 has no GET stream; use subscriptions/listen")
			return
		}
		httpFail(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "mcptray: Bad Request: no "+hdrSession+" header")
		return
	}
	if !acceptsSSE(r.Header.Get("Accept")) {
		httpFail(w, http.StatusNotAcceptable, nil, jsonrpc.CodeInvalidRequest, "mcptray: the Accept header must list text/event-stream")
		return
	}
	s := ep.session(sid)
	if s == nil || s.server != u.name {
		httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "mcptray: unknown session; start a new one with initialize")
		return
	}
	st := newStream()
	defer close(st.gone)
	s.mu.Lock()
	if s.get != nil {
		s.mu.Unlock()
		httpFail(w, http.StatusConflict, nil, jsonrpc.CodeInvalidRequest, "mcptray: this session already has a GET stream open")
		return
	}
	s.get = st
	s.lastUsed = time.Now()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.get == st {
			s.get = nil
		}
		s.lastUsed = time.Now()
		s.mu.Unlock()
	}()
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	if sse.comment() != nil { // headers out now: the IDE knows it is open
		return
	}
	t := time.NewTicker(httpKeepAlive)
	defer t.Stop()
	for {
		select {
		case l := <-st.ch:
			if sse.event(l.line) != nil {
				return
			}
		case <-t.C:
			if sse.comment() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// delete ends a legacy session.
func (ep *httpEndpoint) delete(w http.ResponseWriter, r *http.Request, u *supervisor) {
	sid := r.Header.Get(hdrSession)
	if sid == "" {
		if isModernHeader(r.Header) {
			httpFail(w, http.StatusMethodNotAllowed, nil, jsonrpc.CodeInvalidRequest, "mcptray: protocol 2026-07-28 has no sessions to delete")
			return
		}
		httpFail(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "mcptray: Bad Request: no "+hdrSession+" header")
		return
	}
	s := ep.session(sid)
	if s == nil || s.server != u.name {
		httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "mcptray: unknown session")
		return
	}
	s.end()
	w.WriteHeader(http.StatusNoContent)
}
