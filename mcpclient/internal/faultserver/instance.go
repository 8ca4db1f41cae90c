package faultserver

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// instance is one mcp-go server with its listener; Restart replaces it.
type instance struct {
	s          *Server
	mcp        *server.MCPServer
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	sessions   *sessionManager
	ln         net.Listener
	httpSrv    *http.Server
	ctx        context.Context // ends when the instance shuts down
	cancel     context.CancelFunc
	serveDone  chan struct{}
	track      tracker

	subsMu sync.Mutex
	subs   map[string]map[string]bool // legacy session ID -> subscribed URIs
}

func (s *Server) newInstance(addr string) (*instance, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultserver: listen %s: %w", addr, err)
	}
	in := &instance{
		s:         s,
		sessions:  newSessionManager(),
		ln:        ln,
		serveDone: make(chan struct{}),
	}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	in.track.idle = make(chan struct{})
	logger := s.slogger()

	s.mu.Lock()
	names := append([]string(nil), s.toolNames...)
	s.mu.Unlock()
	in.mcp = s.buildMCP(in, names)

	switch s.opts.Transport {
	case TransportSSE:
		in.sse = server.NewSSEServer(in.mcp,
			server.WithBaseURL("http://"+ln.Addr().String()))
	default:
		var versions []string // dual: every version mcp-go knows
		switch s.opts.Era {
		case EraLegacy:
			// Stay a 2025-11-25 server (the middleware keeps modern
			// requests away from mcp-go anyway).
			versions = mcp.LegacyProtocolVersions()
		case EraModern:
			versions = []string{ModernVersion}
		}
		in.streamable = server.NewStreamableHTTPServer(in.mcp,
			server.WithSessionIdManager(in.sessions),
			server.WithStreamableHTTPLogger(logger),
			server.WithStreamableHTTPProtocolVersions(versions...),
		)
	}
	in.httpSrv = &http.Server{
		Handler:           in,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logfWriter{s.logf}, "faultserver http: ", 0),
	}
	go func() {
		defer close(in.serveDone)
		_ = in.httpSrv.Serve(ln)
	}()
	return in, nil
}

// shutdown stops the instance and waits for its goroutines.
func (in *instance) shutdown() {
	// Connections go first, as when a server process dies: a request in
	// flight loses its stream without an answer (ending the tools first
	// would let mcp-go answer them "context canceled" on the way out).
	_ = in.httpSrv.Close() // listener and connections
	in.cancel()            // streams, stalls, held responses and tools end
	if in.streamable != nil {
		in.streamable.CloseSessions(context.Background())
	}
	if in.sse != nil {
		in.sse.CloseSessions()
	}
	<-in.serveDone
	if !in.track.closeAndWait(5 * time.Second) {
		in.s.logf("faultserver: handlers still running 5s after shutdown")
	}
}

// buildMCP creates the mcp-go server of an instance.
func (s *Server) buildMCP(in *instance, toolNames []string) *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddAfterInitialize(func(context.Context, any, *mcp.InitializeRequest, *mcp.InitializeResult) {
		s.mu.Lock()
		s.stats.SessionsOpened++
		s.mu.Unlock()
	})
	hooks.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && sess.SessionID() != "" {
			in.subscribe(sess.SessionID(), req.Params.URI, true)
		}
	})
	hooks.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil && sess.SessionID() != "" {
			in.subscribe(sess.SessionID(), req.Params.URI, false)
		}
	})
	subscribe := s.opts.ResourceSubscribe || s.opts.Era != EraLegacy
	opts := []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(subscribe, false),
		server.WithPromptCapabilities(false),
		server.WithElicitation(),
		server.WithHooks(hooks),
		server.WithInstructions("faultserver: a fault-injecting MCP server for tests."),
	}
	if s.opts.ListTTL > 0 {
		opts = append(opts, server.WithCacheHints(s.opts.ListTTL.Milliseconds(), mcp.CacheScopePrivate))
	}
	ms := server.NewMCPServer("faultserver", "1.0.0", opts...)
	ms.EnableSampling()
	ms.SetTools(s.buildTools(in, toolNames)...)
	addResourcesAndPrompts(ms)
	return ms
}

func (s *Server) slogger() *slog.Logger {
	if s.opts.Logf == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(logfWriter{s.logf}, nil))
}

// logfWriter turns Write calls into Logf lines.
type logfWriter struct {
	logf func(format string, args ...any)
}

func (l logfWriter) Write(p []byte) (int, error) {
	l.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// tracker counts the handlers running on an instance so that shutdown can
// wait for them.
type tracker struct {
	mu       sync.Mutex
	n        int
	closed   bool
	signaled bool
	idle     chan struct{}
}

func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

func (t *tracker) exit() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	t.signalLocked()
}

func (t *tracker) signalLocked() {
	if t.closed && t.n == 0 && !t.signaled {
		t.signaled = true
		close(t.idle)
	}
}

func (t *tracker) closeAndWait(d time.Duration) bool {
	t.mu.Lock()
	t.closed = true
	t.signalLocked()
	t.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.idle:
		return true
	case <-timer.C:
		return false
	}
}
