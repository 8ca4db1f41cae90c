// Package faultserver is a fault-injecting upstream MCP server for tests of a
// client that must heal broken sessions.
//
// It is an mcp-go server (github.com/mark3labs/mcp-go/server) served on a
// 127.0.0.1 listener over Streamable HTTP (endpoint /mcp) or over the legacy
// HTTP+SSE transport (/sse and /message), behind an HTTP middleware that the
// test steers with Inject. It offers the tools echo, slow, progress, sample,
// elicit and roots, the resource test://static and the prompt greet.
//
// Over Streamable HTTP it speaks the era Options.Era selects: legacy (the
// default; stateful 2025-11-25 with initialize and Mcp-Session-Id, no
// server/discover), modern (revision 2026-07-28 only: per-request _meta,
// server/discover, subscriptions/listen, multi round-trip requests) or dual
// (both on the same endpoint, as mcp-go v1.2.1 does by default). The faults
// work in every era; ForgetSession faults need a session, so they never
// apply to a modern request.
//
// Tools that need the client (sample, elicit, roots) ask for it the way the
// request's era does: on a legacy session with a server→client request
// (elicitation/create on the calling POST's stream; sampling/createMessage
// and roots/list on the GET stream), on a modern request with an
// input_required result (resultType "input_required", inputRequests keyed
// "answer", requestState "<tool>-1") that the client retries with
// inputResponses. A modern request whose clientCapabilities lack the needed
// capability gets a tool error (isError) instead. SetTools and AddTools
// announce tools/list_changed, NotifyResourceUpdated resources/updated, to
// legacy sessions and to modern subscriptions/listen streams alike.
//
// On the Streamable HTTP transport the middleware validates every request
// that carries Mcp-Session-Id against the sessions the current server
// instance minted (mcp-go itself does not validate GET requests): a forgotten
// session gets the fault's status, an unknown one (e.g. after Restart) gets
// mcp-go's own answer, 404 "Invalid session ID", or with
// Options.UnknownSession400 the reference server's 400 (Body400).
//
// Behaviour of mcp-go v1.2.1 worth knowing when writing tests:
//
//   - A POST is answered with application/json unless the server sent the
//     session a notification or request while handling it; then the answer
//     is an SSE stream. The switch is sticky: after the first notification
//     to a session (progress, list_changed, …) every later answer to it is
//     SSE. Options.ForceSSE makes every answer SSE from the start.
//   - A session's notifications go to one channel that the GET stream and
//     every in-flight POST of the session read from, so with a GET stream
//     open a tool's progress notifications may arrive on either.
//   - sampling/createMessage and roots/list are sent only on the GET
//     stream; elicitation/create goes on the calling POST's SSE stream. The
//     client POSTs its answer back with the session header.
//   - The legacy SSE session supports none of the three.
//   - A fault is used up when a request selects it, even if mcp-go then
//     answers that request with an error status that the fault cannot act
//     on (or the era refuses the request: faults are taken before the era's
//     refusals, so e.g. a Status5xx for "server/discover" fires on a legacy
//     server too).
//   - A modern request is served by an ephemeral session of its own: its
//     notifications (progress) go only to its own response, which turns
//     into SSE when the first one is sent; nothing is sticky.
//   - Modern list changes travel on subscriptions/listen streams: mcp-go
//     acknowledges the filter (notifications/subscriptions/acknowledged,
//     tagged with _meta io.modelcontextprotocol/subscriptionId = the listen
//     request's id, as every later event) and broadcasts
//     tools/list_changed to streams that asked for it. It never delivers
//     resources/updated there; NotifyResourceUpdated writes it itself.
//   - mcp-go validates modern requests itself: Mcp-Protocol-Version and
//     _meta must agree, Mcp-Method (and Mcp-Name for tools/call,
//     prompts/get, resources/read) must match the body (-32020, 400), and
//     a Last-Event-ID header is refused.
package faultserver

import (
	"fmt"
	"maps"
	"net"
	"sync"
	"time"
)

// Transports accepted in Options.Transport.
const (
	// TransportStreamable is Streamable HTTP on /mcp (the default).
	TransportStreamable = "streamable-http"
	// TransportSSE is the legacy HTTP+SSE transport: GET /sse, POST /message.
	TransportSSE = "sse"
)

// Options configures Start.
type Options struct {
	// Transport is TransportStreamable ("streamable-http", the default when
	// empty) or TransportSSE ("sse").
	Transport string
	// Addr is the listen address. "" means 127.0.0.1:0 (a free port); a
	// fixed "127.0.0.1:PORT" lets a test start a new Server on the port of
	// a closed one. Only 127.0.0.1 is accepted as host.
	Addr string
	// Logf, when set, receives the server's log lines (faults fired,
	// restarts, mcp-go's streamable transport log). Nil discards them.
	Logf func(format string, args ...any)
	// ForceSSE makes every 200 JSON response to a POST go out as an SSE
	// stream (event: message, data: <json>) instead of application/json.
	// Stream faults force it for the request they apply to anyway.
	// Streamable HTTP only (legacy responses always travel on /sse).
	ForceSSE bool
	// UnknownSession400 makes the server answer a request carrying a
	// session ID it never issued (typically after Restart) with 400 and
	// Body400, as the reference server-everything does, instead of mcp-go's
	// 404 "Invalid session ID". Streamable HTTP only.
	UnknownSession400 bool
	// Tools is the tool list the server starts with, as SetTools takes it;
	// nil means DefaultTools. A server started with its tools never sends
	// notifications/tools/list_changed for them.
	Tools []string
	// Era is the protocol era of the Streamable HTTP server: EraLegacy
	// ("legacy", the default when empty), EraDual ("dual") or EraModern
	// ("modern"). The legacy SSE transport is always legacy.
	//
	// Legacy never gives a modern answer: a POST that is not initialize and
	// has no Mcp-Session-Id gets 400 BodyNotInitialized (a modern
	// server/discover probe included), a GET or DELETE without one 400
	// Body400, a request on a valid session whose Mcp-Protocol-Version
	// header names a version it does not know (2026-07-28) 400
	// BodyUnsupportedLegacy; modern _meta on initialize or on a session's
	// request is ignored.
	//
	// Modern answers initialize, and any POST without modern _meta, with
	// 400 and a -32022 UnsupportedProtocolVersion error whose data is
	// {"supported":["2026-07-28"],"requested":V}; GET and DELETE with 405
	// (Allow: POST); it ignores Mcp-Session-Id.
	//
	// Dual serves a request carrying modern _meta (or a modern
	// Mcp-Protocol-Version header) statelessly, ignoring Mcp-Session-Id,
	// and everything else like Legacy. In both modern and dual eras
	// mcp-go itself validates modern requests (Mcp-Method/Mcp-Name headers
	// against the body: -32020; an unsupported version: -32022).
	Era string
	// ResourceSubscribe advertises the resources.subscribe capability in
	// the legacy era (dual and modern servers always advertise it), so that
	// NotifyResourceUpdated has subscribers.
	ResourceSubscribe bool
	// ListTTL is the ttlMs a modern answer to a list or read carries
	// (0: mcp-go's default, 0, "always revalidate").
	ListTTL time.Duration
}

// Stats are the server's counters, cumulative across Restart.
type Stats struct {
	// SessionsOpened counts initialize requests the MCP server answered
	// successfully (a fault may still have kept the answer from the client).
	SessionsOpened int
	// SessionsClosed counts DELETE requests that ended a live session
	// (streamable HTTP).
	SessionsClosed int
	// Requests counts every HTTP request on the MCP endpoints, by JSON-RPC
	// method or pseudo-method (MethodGET, MethodDELETE, MethodResponse,
	// MethodUnknown), faulted or not.
	Requests map[string]int
	// ActiveSSEStreams is the number of GET streams (streamable GET or
	// legacy /sse) and modern subscriptions/listen streams open right now.
	ActiveSSEStreams int
	// FaultsFired counts the faults applied.
	FaultsFired int
	// ModernRequests counts the POSTs served as revision 2026-07-28
	// (modern _meta or header) by a dual or modern server.
	ModernRequests int
	// EraRefusals counts the requests refused because of the server's era
	// (a legacy server's sessionless probe, a modern server's initialize,
	// GET or DELETE, …).
	EraRefusals int
}

// Server is a running fault server. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	addr string // host:port, fixed for the Server's life
	logf func(format string, args ...any)

	lifeMu sync.Mutex // serializes Restart and Close

	mu            sync.Mutex
	inst          *instance
	closed        bool
	faults        []*armedFault
	toolNames     []string
	stats         Stats
	cancelled     int
	streams       map[*faultWriter]struct{}
	legacyStreams map[string]*faultWriter // legacy session ID -> /sse stream
	listens       map[*faultWriter]*listenStream
}

// DefaultTools are the tools a new Server offers.
var DefaultTools = []string{"echo", "slow", "progress", "sample", "elicit", "roots"}

// Start starts a fault server on a loopback listener.
func Start(opts Options) (*Server, error) {
	switch opts.Transport {
	case "":
		opts.Transport = TransportStreamable
	case TransportStreamable, TransportSSE:
	default:
		return nil, fmt.Errorf("faultserver: unknown transport %q", opts.Transport)
	}
	switch opts.Era {
	case "":
		opts.Era = EraLegacy
	case EraLegacy:
	case EraDual, EraModern:
		if opts.Transport == TransportSSE {
			return nil, fmt.Errorf("faultserver: era %q needs Streamable HTTP", opts.Era)
		}
	default:
		return nil, fmt.Errorf("faultserver: unknown era %q", opts.Era)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("faultserver: bad address %q: %w", addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("faultserver: address %q: only 127.0.0.1 is allowed", addr)
	}
	s := &Server{
		opts:          opts,
		logf:          opts.Logf,
		toolNames:     append([]string(nil), DefaultTools...),
		streams:       make(map[*faultWriter]struct{}),
		legacyStreams: make(map[string]*faultWriter),
		listens:       make(map[*faultWriter]*listenStream),
		stats:         Stats{Requests: make(map[string]int)},
	}
	if opts.Tools != nil {
		s.toolNames = append([]string(nil), opts.Tools...)
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	in, err := s.newInstance(addr)
	if err != nil {
		return nil, err
	}
	s.addr = in.ln.Addr().String()
	s.inst = in
	return s, nil
}

// URL returns the endpoint URL: http://127.0.0.1:PORT/mcp for Streamable
// HTTP, http://127.0.0.1:PORT/sse for the legacy transport.
func (s *Server) URL() string {
	if s.opts.Transport == TransportSSE {
		return "http://" + s.addr + "/sse"
	}
	return "http://" + s.addr + "/mcp"
}

// Addr returns the listen address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// Close stops the server: it closes the listener and every open connection
// and stream, and waits for every goroutine the server started (handlers
// included) to stop. It is idempotent.
func (s *Server) Close() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	in := s.inst
	s.mu.Unlock()
	in.shutdown()
}

// Restart replaces the MCP server with a new instance on the same address,
// as if the upstream process restarted: every connection and stream is
// closed, in-flight requests are aborted and all sessions are forgotten (a
// request with an old session ID gets 404, or 400 with UnknownSession400).
// Queued faults, the tool list and the counters are kept.
func (s *Server) Restart() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("faultserver: closed")
	}
	old := s.inst
	s.mu.Unlock()
	old.shutdown()
	var in *instance
	var err error
	for range 50 {
		if in, err = s.newInstance(s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.inst = in
	s.mu.Unlock()
	s.logf("faultserver: restarted on %s", s.addr)
	return nil
}

// Inject arms a fault. Faults queue up in order; each request takes the
// first one that matches it.
func (s *Server) Inject(f Fault) {
	left := f.Count
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &armedFault{f: f, left: left})
	s.mu.Unlock()
}

// ClearFaults disarms every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// PendingFaults returns how many faults are still armed.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// takeFault removes one application of the first fault matching ri.
func (s *Server) takeFault(ri reqInfo) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, af := range s.faults {
		if !af.f.applies(ri) {
			continue
		}
		if af.left > 0 {
			af.left--
			if af.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.stats.FaultsFired++
		return af.f, true
	}
	return Fault{}, false
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	return st
}

// WaitFor polls Stats until cond holds or timeout passes, and reports
// whether it held.
func (s *Server) WaitFor(timeout time.Duration, cond func(Stats) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond(s.Stats()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Cancelled returns how many calls of the slow tool ended because their
// context was cancelled (client disconnect, notifications/cancelled, Close).
func (s *Server) Cancelled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

// SetTools replaces the tool list at runtime. Names of built-in tools (see
// DefaultTools) get the built-in tool; any other name gets a trivial tool
// that answers with its own name. mcp-go sends
// notifications/tools/list_changed to every session. The list survives
// Restart.
func (s *Server) SetTools(names ...string) {
	s.lifeMu.Lock() // not while Restart builds an instance from the old list
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	s.toolNames = append([]string(nil), names...)
	in := s.inst
	s.mu.Unlock()
	in.mcp.SetTools(s.buildTools(in, names)...)
}

// AddTools adds tools to the list at runtime, as SetTools does with the
// current list plus names: every legacy session and every modern
// subscriptions/listen stream that asked for tool list changes gets
// notifications/tools/list_changed.
func (s *Server) AddTools(names ...string) {
	s.mu.Lock()
	cur := append([]string(nil), s.toolNames...)
	s.mu.Unlock()
	s.SetTools(append(cur, names...)...)
}

// Era returns the server's era (EraLegacy, EraDual or EraModern).
func (s *Server) Era() string { return s.opts.Era }

// DropStreams aborts every open GET stream and modern subscriptions/listen
// stream now (the client sees the connection break mid-stream) and returns
// how many there were.
func (s *Server) DropStreams() int {
	n := 0
	for _, fw := range s.openStreams("") {
		if fw.drop(true) {
			n++
		}
	}
	s.logf("faultserver: dropped %d streams", n)
	return n
}

// EndStreams ends every open GET stream and modern subscriptions/listen
// stream now as a server closing it does (the response ends normally; a
// listen stream gets no JSON-RPC response) and returns how many there
// were.
func (s *Server) EndStreams() int {
	n := 0
	for _, fw := range s.openStreams("") {
		if fw.drop(false) {
			n++
		}
	}
	s.logf("faultserver: ended %d streams", n)
	return n
}

// CorruptStreams writes GarbageEvent on every open GET stream and modern
// subscriptions/listen stream now, then aborts the streams if thenClose, and
// returns how many streams it hit.
func (s *Server) CorruptStreams(thenClose bool) int {
	n := 0
	for _, fw := range s.openStreams("") {
		if fw.corrupt(thenClose) {
			n++
		}
	}
	s.logf("faultserver: corrupted %d streams", n)
	return n
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.stats.Requests[method]++
	s.mu.Unlock()
}

func (s *Server) addStream(fw *faultWriter) {
	s.mu.Lock()
	s.streams[fw] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) removeStream(fw *faultWriter) {
	s.mu.Lock()
	delete(s.streams, fw)
	if fw.open.Load() {
		s.stats.ActiveSSEStreams--
	}
	for id, l := range s.legacyStreams {
		if l == fw {
			delete(s.legacyStreams, id)
		}
	}
	s.mu.Unlock()
}

func (s *Server) streamOpened() {
	s.mu.Lock()
	s.stats.ActiveSSEStreams++
	s.mu.Unlock()
}

func (s *Server) registerLegacyStream(session string, fw *faultWriter) {
	s.mu.Lock()
	if _, ok := s.streams[fw]; ok {
		s.legacyStreams[session] = fw
	}
	s.mu.Unlock()
}

func (s *Server) legacyStream(session string) *faultWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legacyStreams[session]
}

// openStreams lists the GET streams, all or those of one session.
func (s *Server) openStreams(session string) []*faultWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*faultWriter
	for fw := range s.streams {
		if session == "" || fw.ri.session == session {
			out = append(out, fw)
		}
	}
	return out
}

// hasStream reports whether the session has an open GET stream.
func (s *Server) hasStream(session string) bool {
	for _, fw := range s.openStreams(session) {
		if fw.open.Load() {
			return true
		}
	}
	return false
}
