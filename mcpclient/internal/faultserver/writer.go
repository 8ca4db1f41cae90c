package faultserver

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// faultWriter sits between mcp-go and the real ResponseWriter. It converts a
// JSON response to SSE framing when asked to, splits SSE output into events,
// and applies stream faults to the event that carries the JSON-RPC response
// (or to a GET stream as soon as it opens). All methods are safe for
// concurrent use; mcp-go may write from more than one goroutine and the
// Server's DropStreams/CorruptStreams act from outside.
type faultWriter struct {
	s      *Server
	w      http.ResponseWriter
	fl     http.Flusher
	ri     reqInfo
	post   bool // POST request (the response may be converted to SSE)
	legacy bool // legacy /sse stream
	cancel context.CancelFunc

	open atomic.Bool // a GET stream answered 200 text/event-stream

	mu            sync.Mutex
	fault         *Fault // request-level stream fault
	fired         bool
	forceSSE      bool
	wroteHeader   bool
	status        int
	convert       bool // JSON body is buffered and re-framed as an SSE event
	sse           bool // the response is an SSE stream
	jsonBuf       bytes.Buffer
	pending       []byte // bytes of an SSE event not yet complete
	swallow       bool   // discard everything mcp-go still writes
	abort         bool   // abort the connection once mcp-go returns
	hold          bool   // keep the connection open once mcp-go returns
	finished      bool
	err           error
	session       string           // legacy: learnt from the endpoint event
	legacyPending map[string]Fault // legacy: response id -> stream fault
}

func newFaultWriter(s *Server, w http.ResponseWriter, ri reqInfo, cancel context.CancelFunc) *faultWriter {
	fw := &faultWriter{s: s, w: w, ri: ri, cancel: cancel}
	fw.fl, _ = w.(http.Flusher)
	return fw
}

// Header implements http.ResponseWriter.
func (fw *faultWriter) Header() http.Header { return fw.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (fw *faultWriter) Unwrap() http.ResponseWriter { return fw.w }

// WriteHeader implements http.ResponseWriter.
func (fw *faultWriter) WriteHeader(code int) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.writeHeaderLocked(code)
}

func (fw *faultWriter) writeHeaderLocked(code int) {
	if fw.wroteHeader {
		return
	}
	fw.wroteHeader = true
	fw.status = code
	h := fw.w.Header()
	if code == http.StatusOK {
		mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
		switch {
		case mt == "text/event-stream":
			fw.sse = true
		case mt == "application/json" && fw.post && (fw.forceSSE || fw.fault != nil):
			fw.convert = true
			fw.sse = true
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Del("Content-Length")
		}
	}
	fw.w.WriteHeader(code)
	if fw.ri.stream && fw.sse {
		fw.open.Store(true)
		fw.s.streamOpened()
	}
	if fw.sse && (fw.convert || fw.fault != nil) {
		// Headers go out now: the client sees the stream start even if the
		// response never comes.
		fw.flushLocked()
	}
	if fw.ri.stream && fw.sse && !fw.legacy && fw.fault != nil {
		fw.fireOpenLocked()
	}
}

// Write implements http.ResponseWriter.
func (fw *faultWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if !fw.wroteHeader {
		if fw.w.Header().Get("Content-Type") == "" {
			fw.w.Header().Set("Content-Type", http.DetectContentType(p))
		}
		fw.writeHeaderLocked(http.StatusOK)
	}
	if fw.finished || fw.swallow {
		return len(p), nil
	}
	if fw.convert {
		return fw.jsonBuf.Write(p)
	}
	if !fw.sse {
		return fw.w.Write(p)
	}
	fw.pending = append(fw.pending, p...)
	for {
		ev, rest, ok := cutEvent(fw.pending)
		if !ok {
			break
		}
		fw.pending = rest
		fw.handleEventLocked(ev)
		if fw.swallow {
			fw.pending = nil
			break
		}
	}
	return len(p), fw.err
}

// Flush implements http.Flusher.
func (fw *faultWriter) Flush() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.finished || fw.swallow || fw.convert {
		return
	}
	fw.flushLocked()
}

func (fw *faultWriter) flushLocked() {
	if fw.fl != nil {
		fw.fl.Flush()
	}
}

func (fw *faultWriter) rawWriteLocked(b []byte) {
	if _, err := fw.w.Write(b); err != nil && fw.err == nil {
		fw.err = err
	}
}

// handleEventLocked writes one complete SSE event, or applies a fault to it.
func (fw *faultWriter) handleEventLocked(ev []byte) {
	info := parseEvent(ev)
	if fw.legacy && fw.session == "" && info.event == "endpoint" {
		// Register before the client can read the endpoint and POST, so
		// a fault injected for that POST finds this stream.
		fw.session = sessionFromEndpoint(info.data)
		if fw.session != "" {
			fw.s.registerLegacyStream(fw.session, fw)
		}
		fw.rawWriteLocked(ev)
		fw.flushLocked()
		if fw.fault != nil {
			fw.fireOpenLocked()
		}
		return
	}
	var f *Fault
	if info.response {
		if !fw.ri.stream && fw.fault != nil && !fw.fired {
			fw.fired = true
			f = fw.fault
		} else if fw.legacy {
			if lf, ok := fw.legacyPending[info.id]; ok {
				delete(fw.legacyPending, info.id)
				f = &lf
			}
		}
	}
	if f == nil {
		fw.rawWriteLocked(ev)
		return
	}
	if fw.legacy {
		fw.s.logf("faultserver: %v on the response with id %s on the /sse stream of session %s", f.Kind, info.id, fw.session)
	} else {
		fw.s.logf("faultserver: %v on the response to %s (id %s)", f.Kind, fw.ri.describe(), info.id)
	}
	switch f.Kind {
	case CorruptSSE:
		fw.rawWriteLocked([]byte(GarbageEvent))
		fw.flushLocked()
		if !fw.legacy {
			fw.swallow = true
			fw.hold = true
		}
	case CorruptSSEClose:
		fw.rawWriteLocked([]byte(GarbageEvent))
		fw.flushLocked()
		fw.dropLocked()
	case CorruptSSEThenRespond:
		fw.rawWriteLocked([]byte(GarbageEvent))
		fw.rawWriteLocked(ev)
		fw.flushLocked()
	case DropStream:
		fw.flushLocked()
		fw.dropLocked()
	}
}

// fireOpenLocked applies the request-level fault of a GET stream that has
// just opened.
func (fw *faultWriter) fireOpenLocked() {
	if fw.fired || fw.fault == nil {
		return
	}
	fw.fired = true
	f := fw.fault
	fw.s.logf("faultserver: %v on stream %s", f.Kind, fw.ri.describe())
	switch f.Kind {
	case CorruptSSE, CorruptSSEThenRespond:
		fw.rawWriteLocked([]byte(GarbageEvent))
		fw.flushLocked()
	case CorruptSSEClose:
		fw.rawWriteLocked([]byte(GarbageEvent))
		fw.flushLocked()
		fw.dropLocked()
	case DropStream:
		fw.flushLocked()
		fw.dropLocked()
	}
}

// dropLocked makes the connection abort once mcp-go's handler returns, and
// makes it return.
func (fw *faultWriter) dropLocked() {
	fw.swallow = true
	fw.abort = true
	fw.pending = nil
	if fw.cancel != nil {
		fw.cancel()
	}
}

// drop aborts the stream from outside (DropStreams, Close of a forgotten
// session's stream with abort=false only ends it).
func (fw *faultWriter) drop(abort bool) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.finished {
		return false
	}
	if abort {
		fw.swallow = true
		fw.abort = true
	}
	if fw.cancel != nil {
		fw.cancel()
	}
	return true
}

// corrupt writes a garbage event on the stream from outside.
func (fw *faultWriter) corrupt(thenClose bool) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.finished || fw.swallow || !fw.sse {
		return false
	}
	fw.rawWriteLocked(fw.pending)
	fw.pending = nil
	fw.rawWriteLocked([]byte(GarbageEvent))
	fw.flushLocked()
	if thenClose {
		fw.dropLocked()
	}
	return true
}

// inject writes a whole SSE event on an open stream from outside (after
// any partial event mcp-go is writing) and reports whether it could.
func (fw *faultWriter) inject(ev []byte) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.finished || fw.swallow || !fw.sse || fw.convert {
		return false
	}
	if len(fw.pending) > 0 {
		// mcp-go writes an event in one piece; a partial one is unlikely,
		// but it must not be split.
		return false
	}
	fw.rawWriteLocked(ev)
	fw.flushLocked()
	return fw.err == nil
}

// addLegacyPending arms a stream fault for the response with the given id on
// this legacy /sse stream.
func (fw *faultWriter) addLegacyPending(id string, f Fault) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.legacyPending == nil {
		fw.legacyPending = make(map[string]Fault)
	}
	fw.legacyPending[id] = f
}

// finish runs after mcp-go's handler returned: it writes the converted JSON
// response, then aborts the connection, or holds it open, as the fault
// decided. reqCtx ends when the client goes away, instCtx when the server
// instance shuts down.
func (fw *faultWriter) finish(reqCtx, instCtx context.Context) {
	fw.mu.Lock()
	if fw.convert && fw.jsonBuf.Len() > 0 && !fw.swallow {
		data := bytes.TrimRight(fw.jsonBuf.Bytes(), "\r\n")
		ev := make([]byte, 0, len(data)+32)
		ev = append(ev, "event: message\ndata: "...)
		ev = append(ev, data...)
		ev = append(ev, "\n\n"...)
		fw.handleEventLocked(ev)
	}
	if !fw.swallow && len(fw.pending) > 0 {
		fw.rawWriteLocked(fw.pending)
	}
	fw.pending = nil
	if !fw.swallow {
		fw.flushLocked()
	}
	fw.finished = true
	abort, hold := fw.abort, fw.hold
	fw.mu.Unlock()

	if hold && !abort {
		select {
		case <-reqCtx.Done():
		case <-instCtx.Done():
			abort = true
		}
	}
	if instCtx.Err() != nil {
		// The server instance is going down (Close, Restart): nothing it
		// was doing ends cleanly.
		abort = true
	}
	if abort {
		panic(http.ErrAbortHandler)
	}
}

// cutEvent splits the first complete SSE event (terminated by an empty line)
// off buf.
func cutEvent(buf []byte) (ev, rest []byte, ok bool) {
	start := 0
	for start < len(buf) {
		i := bytes.IndexByte(buf[start:], '\n')
		if i < 0 {
			return nil, buf, false
		}
		line := bytes.TrimRight(buf[start:start+i], "\r")
		end := start + i + 1
		if len(line) == 0 {
			return buf[:end], buf[end:], true
		}
		start = end
	}
	return nil, buf, false
}

type eventInfo struct {
	event    string
	data     string
	response bool   // a JSON-RPC response (id, no method)
	id       string // compact id of the message
}

func parseEvent(ev []byte) eventInfo {
	var info eventInfo
	var data []string
	for _, line := range strings.Split(string(ev), "\n") {
		line = strings.TrimRight(line, "\r")
		if v, ok := strings.CutPrefix(line, "event:"); ok {
			info.event = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(v, " "))
		}
	}
	info.data = strings.Join(data, "\n")
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(info.data), &msg) == nil {
		info.id = compactID(msg.ID)
		info.response = info.id != "" && msg.Method == "" && (msg.Result != nil || msg.Error != nil)
	}
	return info
}

// sessionFromEndpoint extracts sessionId from the legacy endpoint event data.
func sessionFromEndpoint(data string) string {
	u, err := url.Parse(strings.TrimSpace(data))
	if err != nil {
		return ""
	}
	return u.Query().Get("sessionId")
}
