package mcpclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// maxHelloSize bounds the first line of a socket connection.
const maxHelloSize = 1 << 20

// Version is the mcptray version. `make build` and `make package` set it
// with -ldflags -X to `git describe --tags --always --dirty`; a plain
// `go build` or `go test` keeps this default.
var Version = "0.1.0-dev"

// HubOptions configure a hub. The zero value works: default config path,
// default state dir, headless, logs discarded.
type HubOptions struct {
	// ConfigPath is the config file; "" = config.DefaultPath().
	ConfigPath string
	// Home is the state dir (socket, locks); "" = paths.Home().
	Home string
	// Logger receives the hub's logs; nil discards them.
	Logger *slog.Logger
	// Mode is "headless" (default) or "tray"; reported to clients.
	Mode string
	// Tuning sets the supervisor's timings; zero means defaults.
	Tuning Tuning
	// ReloadInterval is how often the config file is checked for edits.
	ReloadInterval time.Duration
	// OnShow is called when another `mcptray` asks this hub to show its
	// window (tray mode only).
	OnShow func()
	// OpenBrowser shows a sign-in URL; nil means the OS default browser
	// ($BROWSER when set).
	OpenBrowser func(ctx context.Context, url string) error
	// CredentialStore, when set, replaces the store chosen by the config's
	// credentialStore (tests).
	CredentialStore auth.Store
	// NoAutoLogin: never open a browser unless a sign-in is asked for.
	NoAutoLogin bool
	// ClientMetadataURL is the https URL of mcptray's OAuth client ID
	// metadata document: with authorization servers that advertise
	// client_id_metadata_document_supported it is the client_id, instead
	// of a dynamic registration. Empty: always register.
	ClientMetadataURL string
	// Secrets receives the secret values the hub learns (config header
	// values and ${env:…} expansions, tokens, client secrets); the hub
	// scrubs them out of everything it shows or writes. Pass the set that
	// Logger's handler scrubs (logfile.NewRedactHandlerWith) to share it
	// with the process's other logging. nil: the hub makes its own and
	// wraps Logger's handler to scrub it.
	Secrets *logfile.Secrets
}

// ErrHubRunning is returned by Run when another hub owns the socket.
type ErrHubRunning struct {
	Info   *ipc.HubInfo
	Socket string
	pid    int
}

func (e *ErrHubRunning) Error() string {
	if e.Info == nil && e.pid > 0 {
		return fmt.Sprintf("an mcptray hub is already running (pid %d, socket %s)", e.pid, e.Socket)
	}
	if e.Info != nil {
		return fmt.Sprintf("an mcptray hub is already running (pid %d, %s, socket %s)", e.Info.PID, e.Info.Mode, e.Socket)
	}
	return fmt.Sprintf("an mcptray hub is already running (socket %s)", e.Socket)
}

// Hub owns every upstream session and serves bridges and the control API
// on a unix socket.
type Hub struct {
	opts    HubOptions
	log     *slog.Logger
	socket  string
	started time.Time

	mu       sync.Mutex
	cfg      *config.Config
	cfgErr   string
	cfgHash  []byte
	servers  map[string]*upstream
	cancels  map[string]context.CancelFunc
	subs     map[chan struct{}]struct{}
	runCtx   context.Context
	wg       sync.WaitGroup
	ln       net.Listener
	handover chan struct{}
	creds    *credentials
	secrets  *logfile.Secrets
}

// NewHub prepares a hub; Run starts it.
func NewHub(opts HubOptions) (*Hub, error) {
	if opts.ConfigPath == "" {
		p, err := config.DefaultPath()
		if err != nil {
			return nil, err
		}
		opts.ConfigPath = p
	}
	if opts.Home == "" {
		h, err := paths.Home()
		if err != nil {
			return nil, err
		}
		opts.Home = h
	}
	if opts.Mode == "" {
		opts.Mode = "headless"
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secrets := opts.Secrets
	if secrets == nil {
		secrets = logfile.NewSecrets()
		log = slog.New(logfile.NewScrubHandler(log.Handler(), secrets))
	}
	return &Hub{
		opts: opts, log: log, socket: paths.Socket(opts.Home), secrets: secrets,
		servers: map[string]*upstream{}, cancels: map[string]context.CancelFunc{},
		subs: map[chan struct{}]struct{}{}, handover: make(chan struct{}),
	}, nil
}

// Socket is the path bridges connect to.
func (h *Hub) Socket() string { return h.socket }

// ConfigPath is the config file the hub reads.
func (h *Hub) ConfigPath() string { return h.opts.ConfigPath }

// Run loads the config, takes the socket, and serves until ctx ends or a
// tray hub takes over. Upstream sessions are closed and the socket removed
// before it returns.
func (h *Hub) Run(ctx context.Context) error {
	h.started = time.Now()
	// The state dir holds the lock and maybe the socket: refuse one that
	// another user owns or may write to.
	if err := ipc.PrepareHome(h.opts.Home); err != nil {
		return err
	}
	if err := h.probe(ctx); err != nil {
		return err
	}
	unlock, err := h.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ln, err := h.listen(ctx)
	if err != nil {
		return err
	}
	defer os.Remove(h.socket)

	cfg, err := config.Load(h.opts.ConfigPath)
	if err != nil {
		ln.Close()
		return err
	}
	b, _ := os.ReadFile(h.opts.ConfigPath)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.mu.Lock()
	h.runCtx = ctx
	h.ln = ln
	h.cfgHash = b
	h.mu.Unlock()
	h.mu.Lock()
	h.creds = &credentials{mode: cfg.CredentialStore, home: h.opts.Home, fixed: h.opts.CredentialStore}
	h.mu.Unlock()
	h.apply(cfg)
	h.log.Info("hub started", "socket", h.socket, "config", h.opts.ConfigPath, "servers", len(cfg.Servers), "mode", h.opts.Mode, "version", Version)

	h.wg.Add(2)
	go func() { defer h.wg.Done(); h.watchConfig(ctx) }()
	go func() { defer h.wg.Done(); h.accept(ctx, ln) }()

	select {
	case <-ctx.Done():
	case <-h.handover:
		h.log.Info("handing over to a tray hub")
	}
	cancel()
	ln.Close()
	h.wg.Wait()
	h.log.Info("hub stopped")
	return nil
}

// probe refuses to start when a live hub answers on the socket.
func (h *Hub) probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := ipc.NewClient(h.socket, "mcptray hub").Ping(pctx)
	if err == nil {
		return &ErrHubRunning{Info: info, Socket: h.socket}
	}
	var answered *ipc.Error
	if errors.As(err, &answered) {
		return &ErrHubRunning{Info: answered.Hub, Socket: h.socket}
	}
	return nil
}

// listen takes the socket; the caller holds the lock, so a socket file
// left there is stale.
func (h *Hub) listen(ctx context.Context) (net.Listener, error) {
	// The hub creates the socket's directory itself, or refuses one another
	// user made first (the temp-dir fallback is a predictable path).
	if err := ipc.PrepareSocketDir(h.socket); err != nil {
		return nil, err
	}
	if err := h.probe(ctx); err != nil {
		return nil, err
	}
	_ = os.Remove(h.socket)
	ln, err := net.Listen("unix", h.socket)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", h.socket, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	_ = os.Chmod(h.socket, 0o600)
	return ln, nil
}

func (h *Hub) accept(ctx context.Context, ln net.Listener) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			h.log.Warn("accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err := checkPeer(c); err != nil {
			h.log.Warn("refused a connection", "err", err)
			c.Close()
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() {
				if r := recover(); r != nil {
					h.log.Error("connection handler panicked", "panic", r)
					c.Close()
				}
			}()
			h.handleConn(ctx, c)
		}()
	}
}

func (h *Hub) info() *ipc.HubInfo {
	return &ipc.HubInfo{PID: os.Getpid(), Version: Version, Mode: h.opts.Mode, Config: h.opts.ConfigPath, Socket: h.socket, Started: h.started.Unix()}
}

func (h *Hub) handleConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The hub's end ends the wait for the hello too (Run waits for this
	// handler); the helper that says so is waited for.
	expired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(expired)
		_ = c.SetReadDeadline(time.Unix(1, 0))
	})
	r := bufio.NewReaderSize(c, 64<<10)
	line, err := jsonrpc.ReadLine(r, maxHelloSize)
	if !stop() {
		<-expired
	}
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var hello ipc.Hello
	reply := func(rep ipc.Reply) {
		rep.Error = h.secrets.Scrub(rep.Error)
		rep.Hub = h.info()
		b, _ := json.Marshal(rep)
		_, _ = c.Write(append(b, '\n'))
	}
	if err := json.Unmarshal(line, &hello); err != nil || hello.Op == "" {
		reply(ipc.Reply{Error: "mcptray: expected a hello line ({\"mcptray\":\"attach\",\"server\":NAME}) first"})
		return
	}
	if hello.Op == ipc.OpAttach {
		u, err := h.server(hello.Server)
		if err != nil {
			reply(ipc.Reply{Error: err.Error()})
			return
		}
		reply(ipc.Reply{OK: true, MaxMessage: u.limits().MaxMessageSize})
		d := newDownstream(ctx, u, c, h.log.With("server", u.name, "bridgePid", hello.PID))
		d.serve(r)
		return
	}
	if hello.Op == ipc.OpLogin {
		// The login ends if the client (e.g. `mcptray login`) goes away.
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			_, _ = r.ReadByte()
			cancel()
		}()
		h.loginOp(lctx, hello, reply)
		c.Close() // ends the watch
		<-watched
		return
	}
	res, err := h.control(ctx, hello)
	if err != nil {
		reply(ipc.Reply{Error: err.Error(), Code: ipc.ErrorCode(err)})
		return
	}
	reply(ipc.Reply{OK: true, Result: res})
	if hello.Op == ipc.OpHandover {
		h.handOver() // now that the reply is written
	}
}

// handOver makes Run stop for a tray hub (once).
func (h *Hub) handOver() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.handover:
	default:
		close(h.handover)
	}
}

// server looks a server up by name, with an error a user can act on.
func (h *Hub) server(name string) (*upstream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.servers[name]; u != nil {
		return u, nil
	}
	names := make([]string, 0, len(h.servers))
	for n := range h.servers {
		names = append(names, n)
	}
	sort.Strings(names)
	known := "none are configured"
	if len(names) > 0 {
		known = fmt.Sprintf("configured: %v", names)
	}
	return nil, fmt.Errorf("mcptray: no server named %q in %s (%s); add it to mcpServers", name, h.opts.ConfigPath, known)
}

// apply starts, rebuilds and stops upstreams to match cfg: only servers
// whose entry changed are touched.
func (h *Hub) apply(cfg *config.Config) {
	defer h.changed() // after the unlock below
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.cfg
	h.cfg = cfg
	h.cfgErr = ""
	if old != nil && old.CredentialStore != cfg.CredentialStore && h.creds != nil {
		if inUse, restart := h.creds.setMode(cfg.CredentialStore); restart {
			h.log.Warn("credentialStore changed in the config; the hub keeps the store it opened until it restarts", "configured", cfg.CredentialStore, "using", inUse)
		} else {
			h.log.Info("credentialStore changed in the config; in effect now", "configured", cfg.CredentialStore)
		}
	}
	g := globalSettings{CAFile: cfg.CAFile, Limits: cfg.Limits}
	globalChanged := old != nil && (old.CAFile != cfg.CAFile || old.Limits != cfg.Limits)
	for name, u := range h.servers {
		if _, ok := cfg.Servers[name]; !ok {
			h.log.Info("server removed from config", "server", name)
			h.cancels[name]()
			delete(h.servers, name)
			delete(h.cancels, name)
			_ = u
		}
	}
	for name, sc := range cfg.Servers {
		u := h.servers[name]
		if u == nil {
			u = newUpstream(name, sc, g, upstreamDeps{
				tuning: h.opts.Tuning, log: h.log, notify: h.changed, creds: h.creds, home: h.opts.Home,
				openBrowser: h.opts.OpenBrowser, noAutoLogin: h.opts.NoAutoLogin,
				clientMetadataURL: h.opts.ClientMetadataURL, secrets: h.secrets,
			})
			uctx, cancel := context.WithCancel(h.runCtx)
			h.servers[name] = u
			h.cancels[name] = cancel
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				u.run(uctx)
				u.closeDownstreams()
			}()
			continue
		}
		oldSC, _ := u.config()
		if globalChanged || !reflect.DeepEqual(oldSC, sc) {
			h.log.Info("server config changed; rebuilding", "server", name)
			u.reconfigure(sc, g)
		}
	}
}

// watchConfig polls the config file and applies edits. An invalid edit is
// reported and the running config kept.
func (h *Hub) watchConfig(ctx context.Context) {
	t := time.NewTicker(h.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(h.opts.ConfigPath)
		if err != nil {
			continue
		}
		h.mu.Lock()
		same := bytes.Equal(b, h.cfgHash)
		h.mu.Unlock()
		if same {
			continue
		}
		cfg, err := config.Parse(h.opts.ConfigPath, b)
		h.mu.Lock()
		h.cfgHash = b
		h.mu.Unlock()
		if err != nil {
			h.log.Error("config edit rejected; keeping the running config", "err", err)
			h.mu.Lock()
			h.cfgErr = err.Error()
			h.mu.Unlock()
			h.changed()
			continue
		}
		h.log.Info("config reloaded")
		h.apply(cfg)
	}
}

// Reload applies the config file now (the watcher does it within a second).
func (h *Hub) Reload() error {
	b, err := os.ReadFile(h.opts.ConfigPath)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(h.opts.ConfigPath, b)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cfgHash = b
	h.mu.Unlock()
	h.apply(cfg)
	return nil
}

// Snapshot returns every server's status, sorted by name.
func (h *Hub) Snapshot(withEvents bool) []ServerStatus {
	h.mu.Lock()
	us := make([]*upstream, 0, len(h.servers))
	for _, u := range h.servers {
		us = append(us, u)
	}
	h.mu.Unlock()
	out := make([]ServerStatus, 0, len(us))
	for _, u := range us {
		out = append(out, u.status(withEvents))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ConfigError is the last rejected config edit, if any.
func (h *Hub) ConfigError() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.secrets.Scrub(h.cfgErr)
}

// Subscribe returns a channel that receives a value (coalesced) whenever
// any server's status changes, and a function to stop.
func (h *Hub) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *Hub) changed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Reconnect rebuilds one server's session now ("" with all = every server).
func (h *Hub) Reconnect(name string, all bool) error {
	if all {
		h.mu.Lock()
		for _, u := range h.servers {
			u.reconnect()
		}
		h.mu.Unlock()
		return nil
	}
	u, err := h.server(name)
	if err != nil {
		return err
	}
	u.reconnect()
	return nil
}

// Call sends one request to a server, as an IDE would, and returns the raw
// response line's result, or for an error response a *CallError with its
// code and the server's (or mcptray's) words.
func (h *Hub) Call(ctx context.Context, name, method string, params json.RawMessage) (json.RawMessage, error) {
	u, err := h.server(name)
	if err != nil {
		return nil, err
	}
	line := u.forward(ctx, nil, &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: params})
	if line == nil {
		return nil, ctx.Err()
	}
	m, err := jsonrpc.Parse(line)
	if err != nil {
		return nil, err
	}
	if m.Error != nil {
		var e jsonrpc.Error
		_ = json.Unmarshal(m.Error, &e)
		ce := &CallError{Code: e.Code, Message: e.Message}
		if e.Code == jsonrpc.CodeNeedsLogin {
			ce.SigningIn = u.signingIn()
		}
		return nil, ce
	}
	return m.Result, nil
}

func (h *Hub) control(ctx context.Context, hello ipc.Hello) (json.RawMessage, error) {
	switch hello.Op {
	case ipc.OpPing:
		return nil, nil
	case ipc.OpStatus:
		return json.Marshal(h.Status())
	case ipc.OpReconnect:
		return nil, h.Reconnect(hello.Server, hello.All)
	case ipc.OpTools:
		return h.Call(ctx, hello.Server, "tools/list", nil)
	case ipc.OpCall:
		args := hello.Args
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(args, &probe); err != nil {
			return nil, fmt.Errorf("mcptray: tool arguments must be a JSON object: %v", err)
		}
		params, _ := json.Marshal(map[string]json.RawMessage{"name": mustJSON(hello.Tool), "arguments": args})
		return h.Call(ctx, hello.Server, "tools/call", params)
	case ipc.OpLogout:
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return nil, h.Logout(lctx, hello.Server)
	case ipc.OpHandover:
		if h.opts.Mode == "tray" {
			return nil, errors.New("mcptray: this hub is the tray app; it does not hand over")
		}
		return nil, nil // handleConn hands over once the reply is written
	case ipc.OpShow:
		if h.opts.OnShow == nil {
			return nil, errors.New("mcptray: this hub runs headless and has no window")
		}
		h.opts.OnShow()
		return nil, nil
	}
	return nil, fmt.Errorf("mcptray: unknown request %q", hello.Op)
}

// StatusReport is the control API's status answer.
type StatusReport struct {
	Config            string         `json:"config"`
	ConfigError       string         `json:"configError,omitempty"`
	CredentialStore   string         `json:"credentialStore,omitempty"`
	CredentialWarning string         `json:"credentialWarning,omitempty"`
	Servers           []ServerStatus `json:"servers"`
}

// Status is the whole hub's status.
func (h *Hub) Status() StatusReport {
	st := StatusReport{Servers: h.Snapshot(true), ConfigError: h.ConfigError(), Config: h.opts.ConfigPath}
	h.mu.Lock()
	c := h.creds
	h.mu.Unlock()
	if c != nil {
		st.CredentialStore, st.CredentialWarning = c.describe()
	}
	return st
}

// Login runs a browser sign-in for a server (joining one that runs) and
// returns when it finished; onURL receives the URL to open by hand.
func (h *Hub) Login(ctx context.Context, name string, onURL func(string)) error {
	u, err := h.server(name)
	if err != nil {
		return err
	}
	return h.secrets.ScrubError(u.Login(ctx, onURL, true))
}

// Logout revokes and deletes a server's credentials.
func (h *Hub) Logout(ctx context.Context, name string) error {
	u, err := h.server(name)
	if err != nil {
		return err
	}
	return h.secrets.ScrubError(u.Logout(ctx))
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// closeDownstreams ends every attached IDE session (server removed or hub
// stopping); bridges then re-attach or report.
func (u *upstream) closeDownstreams() {
	u.mu.Lock()
	ds := make([]*downstream, 0, len(u.downstreams))
	for d := range u.downstreams {
		ds = append(ds, d)
	}
	u.mu.Unlock()
	for _, d := range ds {
		d.cancel()
	}
}

// EditConfig changes the config file through fn, validates the result with
// the same rules as loading, writes it atomically and applies it. Edits are
// serialized across processes under the config's edit lock, and the file
// is re-read under it, so other edits and edits made by hand meanwhile are
// kept (see EditConfigFile, in configedit.go; fn may run more than once).
func (h *Hub) EditConfig(fn func(*config.Config) error) error {
	if err := config.Edit(h.opts.ConfigPath, fn); err != nil {
		return err
	}
	return h.Reload()
}

// SetEnabled enables or disables a server in the config.
func (h *Hub) SetEnabled(name string, enabled bool) error {
	return h.EditConfig(func(c *config.Config) error {
		sc, ok := c.Servers[name]
		if !ok {
			return fmt.Errorf("mcptray: no server named %q in %s", name, h.opts.ConfigPath)
		}
		sc.Disabled = !enabled
		c.Servers[name] = sc
		return nil
	})
}

// loginOp runs a login for the control API: progress lines (the URL) while
// it runs, then the final reply. The login stops if the client goes away.
func (h *Hub) loginOp(ctx context.Context, hello ipc.Hello, reply func(ipc.Reply)) {
	ctx, cancel := context.WithTimeout(ctx, auth.DefaultLoginTimeout)
	defer cancel()
	var mu sync.Mutex
	err := h.Login(ctx, hello.Server, func(u string) {
		mu.Lock()
		defer mu.Unlock()
		reply(ipc.Reply{OK: true, Progress: true, URL: u})
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		reply(ipc.Reply{Error: err.Error()})
		return
	}
	reply(ipc.Reply{OK: true})
}
