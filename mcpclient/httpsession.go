package mcpclient

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// httpSession is one HTTP IDE's MCP session: a downstream fed through an
// in-memory pipe. What the downstream writes back is sorted onto the HTTP
// streams by its reader: a response onto the POST that asked, progress
// onto the POST whose token it carries, everything else onto the one
// request in progress or the standalone GET stream.
type httpSession struct {
	id     string
	ep     *httpEndpoint
	server string
	conn   net.Conn      // the endpoint's end of the pipe
	done   chan struct{} // closed when the downstream ended
	// modern: one request's downstream (2026-07-28), not a session.
	modern bool

	mu       sync.Mutex
	posts    map[string]*httpStream // the IDE's request id → its POST
	tokens   map[string]*httpStream // the IDE's progress token → its POST
	sreqs    map[string]*httpStream // a server request's id → where it went
	get      *httpStream            // the standalone GET stream
	lastUsed time.Time
	ended    bool
}

// httpStream is one HTTP response waiting for lines of the session.
type httpStream struct {
	ch   chan streamLine
	gone chan struct{} // closed when the HTTP side finished
	// order is when the stream began, to pick the newest.
	order time.Time
}

type streamLine struct {
	line  []byte
	final bool // the response that ends a POST's stream
}

// streamBuffer bounds the lines waiting for one HTTP response; past it,
// notifications for it are dropped (an IDE not reading its stream).
const streamBuffer = 64

func newStream() *httpStream {
	return &httpStream{ch: make(chan streamLine, streamBuffer), gone: make(chan struct{}), order: time.Now()}
}

// newSessionID is 128 random bits, hex: visible ASCII, as the spec asks.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openSession attaches a new downstream for server u and starts the
// goroutines that carry it; they end with the session.
func (ep *httpEndpoint) openSession(u *supervisor, modern bool) *httpSession {
	hubEnd, epEnd := net.Pipe()
	s := &httpSession{
		id: newSessionID(), ep: ep, server: u.name, conn: epEnd, done: make(chan struct{}), modern: modern,
		posts: map[string]*httpStream{}, tokens: map[string]*httpStream{}, sreqs: map[string]*httpStream{},
		lastUsed: time.Now(),
	}
	log := ep.h.log.With("server", u.name, "http", s.id[:8])
	d := newDownstream(ep.ctx, u, hubEnd, log)
	ep.attach(u.name, 1, !modern)
	max := maxSessionLine(u.limits().MaxMessageSize)
	ep.wg.Add(2)
	go func() {
		defer ep.wg.Done()
		d.serve(bufio.NewReaderSize(hubEnd, 64<<10))
	}()
	go func() {
		defer ep.wg.Done()
		defer ep.attach(u.name, -1, !modern)
		s.readLoop(bufio.NewReaderSize(epEnd, 64<<10), max)
	}()
	return s
}

// register makes a legacy session findable by its id, ending the one
// unused longest when there are too many.
func (ep *httpEndpoint) register(s *httpSession) {
	var evict *httpSession
	ep.mu.Lock()
	ep.sessions[s.id] = s
	if len(ep.sessions) > httpMaxSessions {
		for _, o := range ep.sessions {
			if o != s && o.idle() && (evict == nil || o.lastUse().Before(evict.lastUse())) {
				evict = o
			}
		}
	}
	ep.mu.Unlock()
	if evict != nil {
		ep.log.Info("too many HTTP sessions; ended the one unused longest", "session", evict.id[:8])
		evict.end()
	}
}

func (ep *httpEndpoint) session(id string) *httpSession {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.sessions[id]
}

func (ep *httpEndpoint) forget(s *httpSession) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.sessions[s.id] == s {
		delete(ep.sessions, s.id)
	}
}

// end closes the session: its downstream sees the pipe close and detaches
// (its requests in flight are cancelled), its streams end.
func (s *httpSession) end() {
	s.ep.forget(s)
	_ = s.conn.Close()
}

// live reports a session whose IDE looks attached (see counts).
func (s *httpSession) live(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended && (s.get != nil || len(s.posts) > 0 || now.Sub(s.lastUsed) < httpLiveWindow)
}

func (s *httpSession) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts) == 0 && s.get == nil
}

func (s *httpSession) lastUse() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastUsed
}

// send writes one message to the downstream as one line.
func (s *httpSession) send(line []byte) error {
	s.mu.Lock()
	s.lastUsed = time.Now()
	s.mu.Unlock()
	buf := make([]byte, 0, len(line)+1)
	buf = append(append(buf, line...), '\n')
	_, err := s.conn.Write(buf)
	return err
}

// begin registers a POST's stream for the IDE's request id (and its
// progress token); false when that id is already in progress.
func (s *httpSession) begin(st *httpStream, idKey, tokenKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	if _, dup := s.posts[idKey]; dup {
		return false
	}
	s.posts[idKey] = st
	if tokenKey != "" {
		s.tokens[tokenKey] = st
	}
	return true
}

// finish forgets a POST's stream.
func (s *httpSession) finish(st *httpStream, idKey, tokenKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.posts[idKey] == st {
		delete(s.posts, idKey)
	}
	if tokenKey != "" && s.tokens[tokenKey] == st {
		delete(s.tokens, tokenKey)
	}
	for k, v := range s.sreqs {
		if v == st {
			delete(s.sreqs, k)
		}
	}
	s.lastUsed = time.Now()
}

// readLoop sorts the downstream's lines onto the HTTP streams until the
// downstream ends.
func (s *httpSession) readLoop(r *bufio.Reader, max int64) {
	defer close(s.done)
	defer s.ep.forget(s)
	defer func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
	}()
	for {
		line, err := jsonrpc.ReadLine(r, max)
		if len(line) > 0 {
			s.route(line)
		}
		if err != nil {
			var tl *jsonrpc.TooLargeError
			if errors.As(err, &tl) {
				continue
			}
			_ = s.conn.Close()
			return
		}
	}
}

// lineHead is what routing needs of a notification.
type lineHead struct {
	Params struct {
		ProgressToken json.RawMessage `json:"progressToken"`
		RequestID     json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// route delivers one line of the downstream.
func (s *httpSession) route(line []byte) {
	prefix := line
	if len(prefix) > 512 {
		prefix = prefix[:512]
	}
	id, method := jsonrpc.HeadFromPrefix(prefix)
	switch {
	case method == "" && len(id) > 0:
		// A response to one of the IDE's requests.
		key := jsonrpc.IDKey(id)
		s.mu.Lock()
		st := s.posts[key]
		delete(s.posts, key)
		s.mu.Unlock()
		if st != nil {
			st.deliver(streamLine{line: line, final: true}, true)
		}
	case method != "" && len(id) > 0:
		// The server's request to the IDE (sampling, elicitation, roots).
		st := s.pick(true)
		if st == nil {
			// Nowhere to send it: answer for the IDE rather than let the
			// server wait out its timeout.
			_ = s.send(jsonrpc.EncodeError(id, jsonrpc.CodeMethodNotFound, "mcptray: the IDE has no open stream for "+method+" (no request in progress and no GET stream)", nil))
			return
		}
		s.mu.Lock()
		s.sreqs[jsonrpc.IDKey(id)] = st
		s.mu.Unlock()
		st.deliver(streamLine{line: line}, true)
	case method != "":
		var h lineHead
		_ = json.Unmarshal(line, &h)
		var st *httpStream
		switch {
		case method == "notifications/progress" && len(h.Params.ProgressToken) > 0:
			s.mu.Lock()
			st = s.tokens[jsonrpc.IDKey(h.Params.ProgressToken)]
			s.mu.Unlock()
		case method == "notifications/cancelled" && len(h.Params.RequestID) > 0:
			key := jsonrpc.IDKey(h.Params.RequestID)
			s.mu.Lock()
			st = s.sreqs[key]
			delete(s.sreqs, key)
			s.mu.Unlock()
		case method == "notifications/message":
			st = s.pick(true)
		default:
			st = s.pick(false)
		}
		if st != nil {
			st.deliver(streamLine{line: line}, false)
		}
	}
}

// pick chooses the stream for a message that names no request. A modern
// request's downstream is that request's alone: its POST takes all. A
// message that may belong to a request (a server request, a log line)
// goes on the one POST in progress when there is exactly one, else the
// GET stream, else the newest POST. Anything else (list_changed,
// resources/updated) goes on the GET stream only, never before the
// answer to some unrelated request; without a GET stream the IDE asked
// for none of it.
func (s *httpSession) pick(related bool) *httpStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.posts) == 1 && (related || s.modern) {
		for _, st := range s.posts {
			return st
		}
	}
	if s.get != nil {
		return s.get
	}
	if !related {
		return nil
	}
	var newest *httpStream
	for _, st := range s.posts {
		if newest == nil || st.order.After(newest.order) {
			newest = st
		}
	}
	return newest
}

// deliver queues a line for the stream; a must line (a response, a
// server request) waits for room while the HTTP side is there, others are
// dropped when it is full.
func (st *httpStream) deliver(l streamLine, must bool) {
	if !must {
		select {
		case st.ch <- l:
		case <-st.gone:
		default:
		}
		return
	}
	select {
	case st.ch <- l:
	case <-st.gone:
	}
}

// sseWriter writes SSE events, flushing each.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func (e *sseWriter) start() {
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	e.w.WriteHeader(http.StatusOK)
}

func (e *sseWriter) event(line []byte) error {
	e.start()
	var b bytes.Buffer
	b.Grow(len(line) + 24)
	b.WriteString("event: message\ndata: ")
	b.Write(line)
	b.WriteString("\n\n")
	if _, err := e.w.Write(b.Bytes()); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *sseWriter) comment() error {
	e.start()
	if _, err := io.WriteString(e.w, ":\n\n"); err != nil {
		return err
	}
	return e.rc.Flush()
}

// answer writes a POST's answer: JSON when the response comes first, else
// an SSE stream of what came before it and then the response. It returns
// when the response was written (true), the IDE left or the session
// ended.
func (s *httpSession) answer(w http.ResponseWriter, r *http.Request, st *httpStream, header func(http.Header)) bool {
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	var keep <-chan time.Time
	for {
		select {
		case l := <-st.ch:
			if l.final && !sse.started {
				if header != nil {
					header(w.Header())
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(l.line)
				return true
			}
			if !sse.started && header != nil {
				header(w.Header())
			}
			if err := sse.event(l.line); err != nil || l.final {
				return err == nil
			}
			if keep == nil {
				t := time.NewTicker(httpKeepAlive)
				defer t.Stop()
				keep = t.C
			}
		case <-keep:
			if sse.comment() != nil {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-s.done:
			if !sse.started {
				httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: the session with server %q ended; start a new one (initialize)", s.server))
			}
			return false
		}
	}
}

// acceptsBoth reports an Accept header that admits JSON and SSE, as the
// transport asks of a POST.
func acceptsBoth(accept string) bool {
	if accept == "" {
		return false
	}
	var jsonOK, sseOK bool
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "*/*":
			jsonOK, sseOK = true, true
		case "application/*", "application/json":
			jsonOK = true
		case "text/*", "text/event-stream":
			sseOK = true
		}
	}
	return jsonOK && sseOK
}

func acceptsSSE(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "*/*", "text/*", "text/event-stream":
			return true
		}
	}
	return false
}
