package faultserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// ServeHTTP is the middleware in front of mcp-go.
func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !in.track.enter() {
		panic(http.ErrAbortHandler)
	}
	defer in.track.exit()
	s := in.s
	if s.opts.Transport == TransportSSE {
		switch r.URL.Path {
		case "/sse":
			s.serveLegacyStream(in, w, r)
		case "/message":
			s.serveLegacyMessage(in, w, r)
		default:
			http.NotFound(w, r)
		}
		return
	}
	if r.URL.Path != "/mcp" {
		http.NotFound(w, r)
		return
	}
	s.serveStreamable(in, w, r)
}

// readBody buffers a POST body and puts it back for mcp-go.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

func (s *Server) serveStreamable(in *instance, w http.ResponseWriter, r *http.Request) {
	ri := reqInfo{session: r.Header.Get("Mcp-Session-Id"), streamOK: true}
	var m msgInfo
	var body []byte
	switch r.Method {
	case http.MethodPost:
		var ok bool
		if body, ok = readBody(w, r); !ok {
			return
		}
		m = parseMessage(body)
		ri.method, ri.tool, ri.id, ri.rawID = m.method, m.tool, m.id, m.rawID
	case http.MethodGet:
		ri.method = MethodGET
		ri.stream = true
	case http.MethodDelete:
		ri.method = MethodDELETE
	default:
		ri.method = r.Method
	}
	s.count(ri.method)
	ri.version = requestVersion(r, m)
	ri.modern = isModern(m.metaVersion) || isModern(r.Header.Get("Mcp-Protocol-Version"))
	if ri.modern && m.method == "subscriptions/listen" && ri.id != "" {
		// The modern counterpart of the GET stream: stream faults fire
		// when it opens, DropStreams and CorruptStreams reach it.
		ri.stream = true
	}
	if s.opts.Era == EraModern || (s.opts.Era == EraDual && ri.modern) {
		// No sessions in the modern era: the header is ignored.
		ri.session = ""
		r.Header.Del("Mcp-Session-Id")
	}

	wasLive := false
	if ri.session != "" && ri.method != "initialize" {
		e := in.sessions.lookup(ri.session)
		wasLive = e.state == sessionLive
		switch {
		case e.state == sessionForgotten:
			writeSessionGone(w, e.status)
			return
		case e.state == sessionUnknown && s.opts.UnknownSession400:
			writeSessionGone(w, http.StatusBadRequest)
			return
		case e.state != sessionLive && r.Method == http.MethodGet:
			// mcp-go would open a stream for any session ID on GET.
			if e.state == sessionTerminated {
				http.Error(w, "Session terminated", http.StatusNotFound)
			} else {
				http.Error(w, "Invalid session ID", http.StatusNotFound)
			}
			return
		}
	}

	f, faulted := s.takeFault(ri)
	if faulted {
		if done := s.applyPlainFault(in, w, r, ri, f); done {
			return
		}
	}
	if s.eraGate(w, r, ri, m, body) {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(in.ctx, cancel)
	defer stop()
	fw := newFaultWriter(s, w, ri, cancel)
	fw.post = r.Method == http.MethodPost
	if ri.modern && m.method == "subscriptions/listen" && ri.id != "" {
		s.addListen(fw, m.rawID, body)
		defer s.removeListen(fw)
	}
	fw.forceSSE = s.opts.ForceSSE
	if faulted && f.Kind.isStreamFault() {
		fw.fault = &f
	}
	if ri.stream {
		s.addStream(fw)
		defer s.removeStream(fw)
	}
	in.streamable.ServeHTTP(fw, r.WithContext(ctx))
	if r.Method == http.MethodDelete && wasLive && fw.status == http.StatusOK {
		s.mu.Lock()
		s.stats.SessionsClosed++
		s.mu.Unlock()
	}
	fw.finish(r.Context(), in.ctx)
}

// applyPlainFault applies a fault that is not a stream fault. It reports
// whether the request has been answered.
func (s *Server) applyPlainFault(in *instance, w http.ResponseWriter, r *http.Request, ri reqInfo, f Fault) bool {
	if f.Kind.isStreamFault() {
		return false
	}
	s.logf("faultserver: %v on %s", f.Kind, ri.describe())
	switch f.Kind {
	case Status5xx:
		writeStatusFault(w, f)
	case Garbage200:
		writeGarbage200(w)
	case Modern400:
		writeModern400(w, ri, f)
	case Legacy400:
		writeLegacy400(w, f)
	case ForgetSession404, ForgetSession400:
		status := http.StatusNotFound
		if f.Kind == ForgetSession400 {
			status = http.StatusBadRequest
		}
		in.forget(ri.session, status)
		writeSessionGone(w, status)
	case Stall:
		var timer <-chan time.Time
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-timer:
			return false // serve it now
		case <-r.Context().Done():
		case <-in.ctx.Done():
		}
		panic(http.ErrAbortHandler)
	}
	return true
}

// forget makes the instance forget a session for real: later requests get
// status, its GET streams end, and mcp-go drops its state.
func (in *instance) forget(session string, status int) {
	in.sessions.forget(session, status)
	for _, fw := range in.s.openStreams(session) {
		fw.drop(false)
	}
	if in.streamable != nil {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, "/mcp", nil)
		if err == nil {
			req.Header.Set("Mcp-Session-Id", session)
			in.streamable.ServeHTTP(&discardWriter{}, req)
		}
	}
	if in.sse != nil {
		if fw := in.s.legacyStream(session); fw != nil {
			fw.drop(false)
		}
	}
}

func (s *Server) serveLegacyStream(in *instance, w http.ResponseWriter, r *http.Request) {
	ri := reqInfo{method: r.Method, stream: r.Method == http.MethodGet, streamOK: true}
	s.count(ri.method)
	f, faulted := s.takeFault(ri)
	if faulted {
		if done := s.applyPlainFault(in, w, r, ri, f); done {
			return
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(in.ctx, cancel)
	defer stop()
	fw := newFaultWriter(s, w, ri, cancel)
	fw.legacy = true
	if faulted && f.Kind.isStreamFault() {
		fw.fault = &f
	}
	if ri.stream {
		s.addStream(fw)
		defer s.removeStream(fw)
	}
	in.sse.ServeHTTP(fw, r.WithContext(ctx))
	fw.finish(r.Context(), in.ctx)
}

func (s *Server) serveLegacyMessage(in *instance, w http.ResponseWriter, r *http.Request) {
	ri := reqInfo{method: r.Method, session: r.URL.Query().Get("sessionId")}
	if r.Method == http.MethodPost {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		m := parseMessage(body)
		ri.method, ri.tool, ri.id = m.method, m.tool, m.id
	}
	s.count(ri.method)
	if ri.session != "" {
		if e := in.sessions.lookup(ri.session); e.state == sessionForgotten {
			writeSessionGone(w, e.status)
			return
		}
	}
	stream := s.legacyStream(ri.session)
	ri.streamOK = stream != nil
	f, faulted := s.takeFault(ri)
	if faulted {
		if done := s.applyPlainFault(in, w, r, ri, f); done {
			return
		}
		if f.Kind.isStreamFault() {
			stream.addLegacyPending(ri.id, f)
		}
	}
	in.sse.ServeHTTP(w, r)
}
