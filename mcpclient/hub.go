package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
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
	servers  map[string]*supervisor
	cancels  map[string]context.CancelFunc
	subs     map[chan struct{}]struct{}
	runCtx   context.Context
	wg       sync.WaitGroup
	ln       net.Listener
	handover chan struct{}
	creds    *credentials
	secrets  *logfile.Secrets

	// The loopback HTTP endpoint (httpendpoint.go), run by runHTTP.
	httpMu sync.Mutex
	httpEP *httpEndpoint
	httpSt HTTPStatus
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
		servers: map[string]*supervisor{}, cancels: map[string]context.CancelFunc{},
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

	h.wg.Add(3)
	go func() { defer h.wg.Done(); h.watchConfig(ctx) }()
	go func() { defer h.wg.Done(); h.accept(ctx, ln) }()
	go func() { defer h.wg.Done(); h.runHTTP(ctx) }()

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

// server looks a server up by name, with an error a user can act on.
func (h *Hub) server(name string) (*supervisor, error) {
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

// Snapshot returns every server's status, sorted by name.
func (h *Hub) Snapshot(withEvents bool) []ServerStatus {
	h.mu.Lock()
	us := make([]*supervisor, 0, len(h.servers))
	for _, u := range h.servers {
		us = append(us, u)
	}
	h.mu.Unlock()
	out := make([]ServerStatus, 0, len(us))
	for _, u := range us {
		out = append(out, u.status(withEvents))
	}
	h.httpAttached(out)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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

// closeDownstreams ends every attached IDE session (server removed or hub
// stopping); bridges then re-attach or report.
func (u *supervisor) closeDownstreams() {
	for _, d := range u.router.ides() {
		d.cancel()
	}
}
