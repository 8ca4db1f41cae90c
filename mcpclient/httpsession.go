package mcpclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// httpSession is one HTTP IDE's MCP session: a downstream without a
// socket. The IDE's messages are handed to it directly (send), and what
// it writes back is sorted onto the HTTP streams as it is written (push,
// route): a response onto the POST that asked, progress onto the POST
// whose token it carries, everything else onto the one request in
// progress or the standalone GET stream. (It used to be fed through a
// net.Pipe, with a goroutine on each end and a line framing and parsing
// both ways; see issue 12's benchmark.)
type httpSession struct {
	id     string
	ep     *httpEndpoint
	server string
	d      *downstream
	done   chan struct{} // closed when the downstream ended
	// modern: one request's downstream (2026-07-28), not a session.
	modern bool

	// in is held (read) while a message is handed to the downstream, and
	// taken by end, which sets closing: nothing reaches a downstream that
	// is being closed.
	in      sync.RWMutex
	closing bool
	endOnce sync.Once
	stopEnd func() bool // disarms the end on d.ctx

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
	// final is the response answer wrote (its handler's own).
	final []byte
	// statusOf, when set, picks the HTTP status of a response sent as a
	// single JSON body (default 200).
	statusOf func(final []byte) int
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

// openSession attaches a new downstream for server u. The session holds
// one count of ep.wg until its downstream is closed (end).
func (ep *httpEndpoint) openSession(u *supervisor, modern bool) *httpSession {
	s := &httpSession{
		id: newSessionID(), ep: ep, server: u.name, done: make(chan struct{}), modern: modern,
		posts: map[string]*httpStream{}, tokens: map[string]*httpStream{}, sreqs: map[string]*httpStream{},
		lastUsed: time.Now(),
	}
	log := ep.h.log.With("server", u.name, "http", s.id[:8])
	s.d = newDownstreamTo(ep.ctx, u, s, log)
	ep.wg.Add(1)
	ep.attach(u.name, 1, !modern)
	s.d.open()
	// The hub ends the downstream (server removed, hub stopping): the
	// session ends with it.
	s.stopEnd = context.AfterFunc(s.d.ctx, s.end)
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

// errSessionEnded is send's error once the session is ending.
var errSessionEnded = errors.New("the session ended")

// end closes the session: its downstream's requests in flight are
// cancelled, it detaches, its streams end. It does not wait for that.
func (s *httpSession) end() {
	s.endOnce.Do(func() {
		s.ep.forget(s)
		s.stopEnd()
		s.d.cancel() // a send waiting in the downstream gives up
		s.in.Lock()
		s.closing = true
		s.in.Unlock()
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		go func() {
			defer s.ep.wg.Done()
			s.d.close()
			close(s.done)
			s.ep.attach(s.server, -1, !s.modern)
		}()
	})
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

// send hands one message (one framed line) to the downstream.
func (s *httpSession) send(line []byte) error {
	s.mu.Lock()
	s.lastUsed = time.Now()
	s.mu.Unlock()
	s.in.RLock()
	defer s.in.RUnlock()
	if s.closing {
		return errSessionEnded
	}
	s.d.handle(line)
	return nil
}

// push is the downstream's output (ideWriter): each line is routed onto
// its HTTP stream as it is written. It reports false only for a line
// dropped because its stream was full; a notification no stream asked
// for (no GET stream) is not a drop.
func (s *httpSession) push(ctx context.Context, line []byte, _ bool) bool {
	return s.route(ctx, line)
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

// lineHead is what routing needs of a notification.
type lineHead struct {
	Params struct {
		ProgressToken json.RawMessage `json:"progressToken"`
		RequestID     json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// route delivers one line of the downstream; false: a stream that was
// full dropped it.
func (s *httpSession) route(ctx context.Context, line []byte) bool {
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
			st.deliver(ctx, streamLine{line: line, final: true}, true)
		}
	case method != "" && len(id) > 0:
		// The server's request to the IDE (sampling, elicitation, roots).
		st := s.pick(true)
		if st == nil {
			// Nowhere to send it: answer for the IDE rather than let the
			// server wait out its timeout. Not from here: the downstream
			// is in the middle of writing.
			answer := jsonrpc.EncodeError(id, jsonrpc.CodeMethodNotFound, "mcptray: the IDE has no open stream for "+method+" (no request in progress and no GET stream)", nil)
			go func() { _ = s.send(answer) }()
			return true
		}
		s.mu.Lock()
		s.sreqs[jsonrpc.IDKey(id)] = st
		s.mu.Unlock()
		st.deliver(ctx, streamLine{line: line}, true)
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
			return st.deliver(ctx, streamLine{line: line}, false)
		}
	}
	return true
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
// server request) waits for room while the HTTP side is there (and ctx
// lasts), others are dropped when it is full (false).
func (st *httpStream) deliver(ctx context.Context, l streamLine, must bool) bool {
	if !must {
		select {
		case st.ch <- l:
		case <-st.gone:
		default:
			return false
		}
		return true
	}
	select {
	case st.ch <- l:
	case <-st.gone:
	case <-ctx.Done():
	}
	return true
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
			if l.final {
				st.final = l.line
			}
			if l.final && !sse.started {
				if header != nil {
					header(w.Header())
				}
				w.Header().Set("Content-Type", "application/json")
				if st.statusOf != nil {
					w.WriteHeader(st.statusOf(l.line))
				}
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
