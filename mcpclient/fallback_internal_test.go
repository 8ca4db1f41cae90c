package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// fallbackServer is an MCP endpoint at "/" whose Streamable HTTP side
// (POST /) answers as configured, and which may also serve the legacy
// HTTP+SSE transport (GET / opens the event stream, POST /messages takes
// the requests). It counts what each transport was asked.
type fallbackServer struct {
	fallbackSpec

	posts, gets, legacyPosts atomic.Int32

	mu     sync.Mutex
	order  []string // "POST" and "GET" to /, in order
	events chan string
}

// fallbackSpec is how a fallbackServer answers.
type fallbackSpec struct {
	// post is the status of every POST / (0: a working Streamable HTTP
	// endpoint), with postBody and postHeader.
	post       int
	postBody   string
	postHeader http.Header
	// sse: GET / serves the legacy event stream (else 405).
	sse bool
}

func (f *fallbackServer) start(t *testing.T) string {
	t.Helper()
	f.events = make(chan string, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			f.posts.Add(1)
			f.note("POST")
			f.streamable(w, r)
		case http.MethodGet:
			f.gets.Add(1)
			f.note("GET")
			if !f.sse || r.Header.Get("Mcp-Session-Id") != "" {
				http.Error(w, "no standalone stream", http.StatusMethodNotAllowed)
				return
			}
			f.legacyStream(w, r)
		case http.MethodDelete:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("POST /messages", func(w http.ResponseWriter, r *http.Request) {
		f.legacyPosts.Add(1)
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		w.WriteHeader(http.StatusAccepted)
		if m.ID != nil {
			f.events <- fmt.Sprintf("event: message\ndata: %s\n\n", initResult(m.ID, "2024-11-05", "legacy"))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func (f *fallbackServer) note(what string) {
	f.mu.Lock()
	f.order = append(f.order, what)
	f.mu.Unlock()
}

func initResult(id json.RawMessage, protocol, name string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":%q,"capabilities":{},"serverInfo":{"name":%q,"version":"1"}}}`, id, protocol, name)
}

func (f *fallbackServer) streamable(w http.ResponseWriter, r *http.Request) {
	if f.post != 0 {
		for k, v := range f.postHeader {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain")
		}
		w.WriteHeader(f.post)
		io.WriteString(w, f.postBody)
		return
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	_ = json.NewDecoder(r.Body).Decode(&m)
	if m.ID == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mcp-Session-Id", "s1")
	io.WriteString(w, initResult(m.ID, "2025-11-25", "streamable"))
}

func (f *fallbackServer) legacyStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, "event: endpoint\ndata: /messages?sessionId=legacy-1\n\n")
	w.(http.Flusher).Flush()
	for {
		select {
		case ev := <-f.events:
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// TestFallback: which transport connect chooses against real HTTP
// servers. With transport auto, a 4xx other than 401/403/408/429 to the
// Streamable HTTP initialize POST means an older server: the legacy
// HTTP+SSE transport is tried (the spec's backwards-compatibility rule).
// Auth failures, 5xx and an explicit transport do not fall back.
func TestFallback(t *testing.T) {
	rows := []struct {
		name      string
		transport string // config transport ("" = auto)
		remember  string // the transport that worked last time
		srv       fallbackSpec

		want    string // the transport chosen; "" = connect fails
		wantErr func(error) bool
		// Counted after connect and a ping on the new session.
		wantPosts  int32  // Streamable HTTP POSTs to /
		wantGets   int32  // GETs to / (-1: not counted, the standalone stream may race)
		wantLegacy int32  // legacy POSTs to /messages
		wantOrder  string // the requests to /, in order (a prefix when connect succeeds)
	}{
		{
			name: "streamable works", srv: fallbackSpec{sse: true},
			want: transport.Streamable, wantPosts: 3, wantGets: -1, wantOrder: "POST POST",
		},
		{
			name: "404, legacy SSE", srv: fallbackSpec{post: 404, postBody: "404 page not found", sse: true},
			want: transport.SSE, wantPosts: 1, wantGets: 1, wantLegacy: 3, wantOrder: "POST GET",
		},
		{
			name: "405, legacy SSE", srv: fallbackSpec{post: 405, postBody: "Method Not Allowed", sse: true},
			want: transport.SSE, wantPosts: 1, wantGets: 1, wantLegacy: 3, wantOrder: "POST GET",
		},
		{
			// A 400 whose body is not JSON-RPC: not a Streamable HTTP
			// server's answer, so fall back.
			name: "400 non-MCP body, legacy SSE",
			srv:  fallbackSpec{post: 400, postBody: "<html><body>Bad Request</body></html>", postHeader: http.Header{"Content-Type": {"text/html"}}, sse: true},
			want: transport.SSE, wantPosts: 1, wantGets: 1, wantLegacy: 3, wantOrder: "POST GET",
		},
		{
			// Neither transport works: both are reported, the first error
			// unwraps.
			name: "404, no legacy SSE either", srv: fallbackSpec{post: 404, postBody: "not found"},
			wantErr: func(err error) bool {
				var fe *fallbackError
				var se *transport.StatusError
				return errors.As(err, &fe) && errors.As(err, &se) && se.Status == 404
			},
			wantPosts: 1, wantGets: 1, wantOrder: "POST GET",
		},
		{
			name: "401 does not fall back",
			srv:  fallbackSpec{post: 401, postHeader: http.Header{"Www-Authenticate": {`Bearer resource_metadata="http://x/.well-known/oauth-protected-resource"`}}, sse: true},
			wantErr: func(err error) bool {
				var ae *transport.AuthError
				return errors.As(err, &ae) && ae.Status == 401 && ae.WWWAuthenticate != ""
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "403 does not fall back", srv: fallbackSpec{post: 403, sse: true},
			wantErr: func(err error) bool {
				var ae *transport.AuthError
				return errors.As(err, &ae) && ae.Status == 403
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "429 does not fall back", srv: fallbackSpec{post: 429, postHeader: http.Header{"Retry-After": {"3"}}, sse: true},
			wantErr: func(err error) bool {
				var se *transport.StatusError
				return errors.As(err, &se) && se.Status == 429 && se.RetryAfter == 3*time.Second
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "503 does not fall back", srv: fallbackSpec{post: 503, sse: true},
			wantErr: func(err error) bool {
				var se *transport.StatusError
				return errors.As(err, &se) && se.Status == 503
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "streamable-http configured: 405 does not fall back", transport: config.TransportStreamable,
			srv: fallbackSpec{post: 405, sse: true},
			wantErr: func(err error) bool {
				var se *transport.StatusError
				var fe *fallbackError
				return errors.As(err, &se) && se.Status == 405 && !errors.As(err, &fe)
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "streamable-http configured: 404 does not fall back", transport: config.TransportStreamable,
			srv: fallbackSpec{post: 404, sse: true},
			wantErr: func(err error) bool {
				var se *transport.StatusError
				return errors.As(err, &se) && se.Status == 404
			},
			wantPosts: 1, wantOrder: "POST",
		},
		{
			name: "sse configured", transport: config.TransportSSE, srv: fallbackSpec{sse: true},
			want: transport.SSE, wantGets: 1, wantLegacy: 3, wantOrder: "GET",
		},
		{
			// SSE worked last time: tried first; the server has moved on
			// to Streamable HTTP, which is then tried.
			name: "remembered sse, server now streamable", remember: config.TransportSSE, srv: fallbackSpec{},
			want: transport.Streamable, wantPosts: 3, wantGets: -1, wantOrder: "GET POST POST",
		},
		{
			name: "remembered sse, still sse", remember: config.TransportSSE, srv: fallbackSpec{post: 405, sse: true},
			want: transport.SSE, wantGets: 1, wantLegacy: 3, wantOrder: "GET",
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			f := &fallbackServer{fallbackSpec: row.srv}
			url := f.start(t)
			// The legacy transports' fallback; the era probe before it has
			// its own table (TestEraProbe): a pinned legacy version skips it.
			cfg := config.Server{URL: url, Transport: row.transport, ProtocolVersion: config.DefaultProtocolVersion}
			if cfg.Transport == "" {
				cfg.Transport = config.TransportAuto
			}
			u := newSupervisor("srv", cfg, globalSettings{}, supervisorDeps{tuning: Tuning{ConnectTimeout: 10 * time.Second}, noAutoLogin: true})
			u.lastTrans = row.remember
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := u.connect(ctx, cfg, globalSettings{})
			if s != nil {
				defer func() {
					s.cancel()
					s.conn.Close()
				}()
			}
			switch {
			case row.want == "" && err == nil:
				t.Fatalf("connected over %s, want an error", s.transport)
			case row.want == "" && !row.wantErr(err):
				t.Errorf("connect: %T %v", err, err)
			case row.want != "" && err != nil:
				t.Fatalf("connect: %v, want %s", err, row.want)
			case row.want != "" && s.transport != row.want:
				t.Errorf("transport %s, want %s", s.transport, row.want)
			}
			if s != nil {
				// The session answers on the chosen transport.
				ping := &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("99"), Method: "ping"}
				if _, err := s.conn.Call(ctx, ping); err != nil {
					t.Errorf("ping on the new session: %v", err)
				}
				s.cancel()
				s.conn.Close()
			}
			if got := f.posts.Load(); got != row.wantPosts {
				t.Errorf("%d Streamable HTTP POSTs, want %d", got, row.wantPosts)
			}
			if got := f.gets.Load(); row.wantGets >= 0 && got != row.wantGets {
				t.Errorf("%d GETs, want %d", got, row.wantGets)
			}
			if got := f.legacyPosts.Load(); got != row.wantLegacy {
				t.Errorf("%d legacy POSTs, want %d", got, row.wantLegacy)
			}
			if row.wantOrder != "" {
				f.mu.Lock()
				order := fmt.Sprint(f.order)
				f.mu.Unlock()
				want := "[" + row.wantOrder + "]"
				if s != nil {
					order, want = order[:min(len(order), len(want)-1)], want[:len(want)-1]
				}
				if order != want {
					t.Errorf("requests to / in order %s, want [%s]", order, row.wantOrder)
				}
			}
		})
	}
}
