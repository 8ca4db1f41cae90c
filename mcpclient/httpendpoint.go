package mcpclient

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/httptoken"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// The loopback HTTP endpoint: every configured server as a Streamable
// HTTP MCP endpoint at http://127.0.0.1:PORT/mcp/NAME, for IDEs that reach
// servers by URL. It is built on the bridges' machinery: each legacy HTTP
// session (the Mcp-Session-Id the endpoint mints) is a downstream, fed
// directly rather than through a socket, so HTTP IDEs share the server's one upstream
// session, its healing, sign-in holds, limits and routing with the IDEs
// behind bridges. A modern (2026-07-28) request gets a downstream of its
// own for as long as its response stream is open.
//
// Only loopback is bound; every request must carry the per-install token
// (httptoken) as a Bearer credential, and a Host or Origin that is not this
// listener's is refused (DNS rebinding). No CORS headers are ever sent.

// HTTPStatus is the endpoint's state for status and the window.
type HTTPStatus struct {
	Enabled bool `json:"enabled"`
	// URL is the endpoint's base; a server is at URL + "/" + NAME.
	URL string `json:"url,omitempty"`
	// Error says why the endpoint is not serving (the port is taken…).
	Error string `json:"error,omitempty"`
	// Sessions counts the IDEs attached over HTTP (legacy sessions and
	// modern requests in progress).
	Sessions int `json:"sessions"`
	// Connections counts the open TCP connections (at most 512).
	Connections int `json:"connections"`
}

// Bounds of the endpoint.
const (
	// httpMaxConns bounds the open connections; past it the oldest idle
	// ones are closed to make room, so a flood of idle connections cannot
	// lock IDEs out.
	httpMaxConns = 512
	// httpMaxSessions bounds legacy sessions; past it the one unused the
	// longest is ended (its IDE gets a 404 and starts a new one).
	httpMaxSessions = 1024
	// httpHeaderTimeout bounds the wait for a request's headers.
	httpHeaderTimeout = 10 * time.Second
	// httpIdleTimeout closes a kept-alive connection no request came on.
	httpIdleTimeout = 2 * time.Minute
	// httpKeepAlive is how often an open GET or listen stream gets an SSE
	// comment, so that no idle timeout closes it.
	httpKeepAlive = 25 * time.Second
	// httpTokenPoll is how often the token file is checked for a rotation.
	httpTokenPoll = time.Second
	// httpSessionIdle ends a legacy session that had no request and no
	// open GET stream for a day (Tuning.HTTPSessionIdle). Most IDEs never
	// send DELETE, so without it every IDE restart left a session (a
	// downstream attached to its server, fed every notification) until
	// httpMaxSessions. A day keeps the session of an IDE left open over a
	// night or a weekend day; one that comes back later gets the 404 the
	// transport prescribes and initializes again by itself (the hub then
	// has its capabilities again; nothing else was held for it).
	httpSessionIdle = 24 * time.Hour
)

// httpPath is the prefix of the servers' endpoints.
const httpPath = "/mcp/"

// httpEndpoint is the listener and its sessions. The hub runs at most one
// (runHTTP), rebuilt when http.port or http.enabled change.
type httpEndpoint struct {
	h     *Hub
	log   *slog.Logger
	port  int
	ln    net.Listener
	srv   *http.Server
	conns *connTracker
	token atomic.Pointer[string]
	// ctx ends with the endpoint: its sessions and streams end with it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg owns every goroutine of the endpoint (server, token watch,
	// sessions' downstreams and readers).
	wg sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*httpSession
	attached map[string]int // server → IDEs attached over HTTP
	// parked are modern requests' downstreams kept past an input_required
	// answer, by its requestState, for the IDE's retry (httpmodern.go).
	parked map[string]*httpSession
}

// runHTTP keeps the endpoint in line with the config until ctx ends:
// started, moved to another port, stopped. Its state is in h.httpState.
func (h *Hub) runHTTP(ctx context.Context) {
	changes, stop := h.Subscribe()
	defer stop()
	var ep *httpEndpoint
	var cur struct {
		enabled bool
		port    int
	}
	defer func() {
		if ep != nil {
			ep.close()
		}
	}()
	first := true
	for {
		h.mu.Lock()
		cfg := h.cfg
		h.mu.Unlock()
		if cfg != nil {
			enabled, port := cfg.HTTPEnabled(), cfg.HTTPPort()
			if first || enabled != cur.enabled || port != cur.port {
				first = false
				cur.enabled, cur.port = enabled, port
				if ep != nil {
					ep.close()
					ep = nil
				}
				st := HTTPStatus{Enabled: enabled}
				if enabled {
					var err error
					ep, err = startHTTP(ctx, h, port)
					if err != nil {
						st.Error = err.Error()
						h.log.Error("the loopback HTTP endpoint is off; bridges keep working", "err", err)
					} else {
						st.URL = ep.baseURL()
						h.log.Info("loopback HTTP endpoint serving", "url", st.URL)
					}
				}
				h.setHTTP(ep, st)
			}
		}
		select {
		case <-ctx.Done():
			h.setHTTP(nil, HTTPStatus{})
			return
		case <-changes:
		}
	}
}

// setHTTP records the running endpoint and its state.
func (h *Hub) setHTTP(ep *httpEndpoint, st HTTPStatus) {
	h.httpMu.Lock()
	changed := h.httpEP != ep || h.httpSt != st
	h.httpEP, h.httpSt = ep, st
	h.httpMu.Unlock()
	if changed {
		h.changed()
	}
}

// HTTPStatus is the loopback endpoint's state.
func (h *Hub) HTTPStatus() HTTPStatus {
	h.httpMu.Lock()
	ep, st := h.httpEP, h.httpSt
	h.httpMu.Unlock()
	if ep != nil {
		_, live := ep.counts(time.Now())
		for _, n := range live {
			st.Sessions += n
		}
		st.Connections = ep.conns.open()
	}
	return st
}

// httpAttached fills in, per server, the IDEs attached over HTTP; the
// router counts them with the bridges, so they are taken out of those.
func (h *Hub) httpAttached(out []ServerStatus) {
	h.httpMu.Lock()
	ep := h.httpEP
	h.httpMu.Unlock()
	if ep == nil {
		return
	}
	all, live := ep.counts(time.Now())
	for i := range out {
		out[i].HTTPClients = live[out[i].Name]
		out[i].Bridges = max(0, out[i].Bridges-all[out[i].Name])
	}
}

// httpLiveWindow is how recently a legacy session without a GET stream
// must have sent a request to count as an attached IDE. Sessions are
// ended only after httpSessionIdle (most IDEs never send DELETE, and one
// that comes back after a night should not get a 404), so the count
// leaves out those whose IDE probably went away.
const httpLiveWindow = 10 * time.Minute

// counts returns, per server, every downstream of the endpoint (the
// router counts them among its IDEs) and the IDEs that look attached: a
// legacy session with its GET stream open, a request in progress or one
// within httpLiveWindow, and each modern request in progress.
func (ep *httpEndpoint) counts(now time.Time) (all, live map[string]int) {
	ep.mu.Lock()
	all = maps.Clone(ep.attached)
	ss := make([]*httpSession, 0, len(ep.sessions))
	for _, s := range ep.sessions {
		ss = append(ss, s)
	}
	ep.mu.Unlock()
	live = map[string]int{}
	legacy := map[string]int{}
	for _, s := range ss {
		legacy[s.server]++
		if s.live(now) {
			live[s.server]++
		}
	}
	for name, n := range all {
		live[name] += max(0, n-legacy[name]) // modern requests in progress
	}
	return all, live
}

// errNotLoopback refuses a listen address that is not a loopback IP.
var errNotLoopback = errors.New("the HTTP endpoint listens on loopback only")

// listenLoopback listens on addr, which must be a loopback IP and port.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w (not %q)", errNotLoopback, host)
	}
	return net.Listen("tcp", addr)
}

// startHTTP binds 127.0.0.1:port and serves.
func startHTTP(ctx context.Context, h *Hub, port int) (*httpEndpoint, error) {
	tok, err := httptoken.Load(h.opts.Home)
	if err != nil {
		return nil, fmt.Errorf("no token for the HTTP endpoint: %w", err)
	}
	h.secrets.AddToken(tok)
	ln, err := listenLoopback(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if isAddrInUse(err) {
			return nil, fmt.Errorf("port %d on 127.0.0.1 is already in use by another program; set http.port in %s to a free port (bridges keep working meanwhile)", port, h.opts.ConfigPath)
		}
		return nil, fmt.Errorf("cannot listen on 127.0.0.1:%d: %w", port, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	ep := &httpEndpoint{
		h: h, log: h.log.With("component", "http"), port: ln.Addr().(*net.TCPAddr).Port, ln: ln,
		conns: newConnTracker(httpMaxConns), ctx: ctx, cancel: cancel,
		sessions: map[string]*httpSession{}, attached: map[string]int{}, parked: map[string]*httpSession{},
	}
	ep.token.Store(&tok)
	ep.srv = &http.Server{
		Handler:           ep,
		ReadHeaderTimeout: httpHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ConnState:         ep.conns.track,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// The server's own complaints (bad TLS probes, broken
		// connections) are noise for the hub's log.
		ErrorLog: slog.NewLogLogger(ep.log.Handler(), slog.LevelDebug),
	}
	idle := h.opts.Tuning.HTTPSessionIdle
	if idle <= 0 {
		idle = httpSessionIdle
	}
	ep.wg.Add(3)
	go func() {
		defer ep.wg.Done()
		if err := ep.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ep.log.Error("HTTP endpoint stopped", "err", err)
		}
	}()
	go func() { defer ep.wg.Done(); ep.watchToken() }()
	go func() { defer ep.wg.Done(); ep.reapIdle(idle) }()
	return ep, nil
}

// reapIdle ends the legacy sessions idle for longer than idle (see
// httpSessionIdle), checking every idle/4, at most every 10 minutes.
func (ep *httpEndpoint) reapIdle(idle time.Duration) {
	t := time.NewTicker(min(idle/4, 10*time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case now := <-t.C:
			ep.mu.Lock()
			var old []*httpSession
			for _, s := range ep.sessions {
				if s.idle() && now.Sub(s.lastUse()) > idle {
					old = append(old, s)
				}
			}
			ep.mu.Unlock()
			for _, s := range old {
				ep.log.Info("ended an HTTP session idle too long; its IDE gets a 404 and starts a new one", "session", s.id[:8], "idle", idle)
				s.end()
			}
		}
	}
}

func (ep *httpEndpoint) baseURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(ep.port) + "/mcp"
}

// close stops the listener, ends every session and waits for them.
func (ep *httpEndpoint) close() {
	ep.cancel()
	_ = ep.srv.Close()
	ep.mu.Lock()
	ss := make([]*httpSession, 0, len(ep.sessions))
	for _, s := range ep.sessions {
		ss = append(ss, s)
	}
	ep.mu.Unlock()
	for _, s := range ss {
		s.end()
	}
	ep.wg.Wait()
}

// watchToken adopts a rotated token (`mcptray http-token rotate` writes
// the file); a deleted file is made again.
func (ep *httpEndpoint) watchToken() {
	t := time.NewTicker(httpTokenPoll)
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-t.C:
		}
		tok, err := httptoken.Read(ep.h.opts.Home)
		if errors.Is(err, os.ErrNotExist) {
			tok, err = httptoken.Load(ep.h.opts.Home)
		}
		if err != nil {
			ep.log.Warn("cannot read the HTTP endpoint's token; keeping the one in use", "err", err)
			continue
		}
		if old := ep.token.Load(); old == nil || *old != tok {
			ep.h.secrets.AddToken(tok)
			ep.token.Store(&tok)
			ep.log.Info("HTTP endpoint token rotated")
		}
	}
}

// attach counts a downstream of the endpoint in or out. Legacy sessions
// tell the hub's watchers (status, the window); a modern request, which
// lives as long as its answer takes, does not.
func (ep *httpEndpoint) attach(server string, delta int, notify bool) {
	ep.mu.Lock()
	ep.attached[server] += delta
	if ep.attached[server] <= 0 {
		delete(ep.attached, server)
	}
	ep.mu.Unlock()
	if notify {
		ep.h.changed()
	}
}

// ServeHTTP checks who is asking, then hands the request to the legacy
// session or the modern path.
func (ep *httpEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !ep.allowedHost(r.Host) {
		httpFail(w, http.StatusForbidden, nil, jsonrpc.CodeInvalidRequest, "mcptray: forbidden Host header")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !ep.allowedOrigin(o) {
		httpFail(w, http.StatusForbidden, nil, jsonrpc.CodeInvalidRequest, "mcptray: forbidden Origin")
		return
	}
	if !ep.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcptray"`)
		httpFail(w, http.StatusUnauthorized, nil, jsonrpc.CodeInvalidRequest, "mcptray: this endpoint needs the token of this mcptray install (Authorization: Bearer …); `mcptray install NAME --client C --http` writes it into the IDE's config")
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, httpPath)
	if !ok || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	u, err := ep.h.server(name)
	if err != nil {
		httpFail(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, err.Error())
		return
	}
	switch r.Method {
	case http.MethodPost:
		ep.post(w, r, u)
	case http.MethodGet:
		ep.get(w, r, u)
	case http.MethodDelete:
		ep.delete(w, r, u)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpFail(w, http.StatusMethodNotAllowed, nil, jsonrpc.CodeInvalidRequest, "mcptray: method not allowed")
	}
}

// allowedHost accepts this listener's own names: a rebinding attack
// reaches it under the attacker's host name.
func (ep *httpEndpoint) allowedHost(host string) bool {
	p := ":" + strconv.Itoa(ep.port)
	h, ok := strings.CutSuffix(strings.ToLower(host), p)
	return ok && (h == "127.0.0.1" || h == "localhost")
}

func (ep *httpEndpoint) allowedOrigin(origin string) bool {
	o := strings.ToLower(origin)
	p := ":" + strconv.Itoa(ep.port)
	return o == "http://127.0.0.1"+p || o == "http://localhost"+p
}

func (ep *httpEndpoint) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	want := ep.token.Load()
	return want != nil && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(*want)) == 1
}

// httpFail answers with an HTTP error status and a JSON-RPC error body.
func httpFail(w http.ResponseWriter, status int, id []byte, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(jsonrpc.EncodeError(id, code, msg, nil))
}

// supportedLegacy reports a legacy protocol version the hub serves.
func supportedLegacy(v string) bool {
	for _, s := range config.SupportedProtocolVersions {
		if s == v {
			return true
		}
	}
	return false
}

// HTTPEntry is what an IDE's config needs to reach server name over the
// endpoint: its URL and the token to send as a Bearer credential. It
// fails while the endpoint is not serving.
func (h *Hub) HTTPEntry(name string) (endpoint, token string, err error) {
	if _, err := h.server(name); err != nil {
		return "", "", err
	}
	h.httpMu.Lock()
	ep, st := h.httpEP, h.httpSt
	h.httpMu.Unlock()
	if ep == nil {
		if st.Error != "" {
			return "", "", fmt.Errorf("mcptray: the HTTP endpoint is not serving: %s", st.Error)
		}
		return "", "", errors.New("mcptray: the HTTP endpoint is off (http.enabled in the config)")
	}
	tok := ep.token.Load()
	return ep.baseURL() + "/" + name, *tok, nil
}
