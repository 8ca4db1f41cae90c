package mcpclient

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/internal/group"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// State is where a server's supervisor is.
type State string

// The states of a server's supervisor (README "How sessions heal"):
// connecting → connected → backoff → connecting …, plus disabled,
// needs_login, logging_in and failed.
const (
	StateDisabled   State = "disabled"
	StateConnecting State = "connecting"
	StateConnected  State = "connected"
	StateNeedsLogin State = "needs_login"
	StateLoggingIn  State = "logging_in"
	StateBackoff    State = "backoff"
	StateFailed     State = "failed"
)

// Event is one state transition of a server.
type Event struct {
	Time   time.Time `json:"time"`
	State  State     `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// maxEvents is how many events a server keeps for display.
const maxEvents = 100

// ServerStatus is a snapshot of one server for status, the UI and logs.
type ServerStatus struct {
	Name            string    `json:"name"`
	URL             string    `json:"url"`
	State           State     `json:"state"`
	Since           time.Time `json:"since"`
	LastError       string    `json:"lastError,omitempty"`
	NextAttempt     time.Time `json:"nextAttempt,omitzero"`
	Transport       string    `json:"transport,omitempty"`
	ProtocolVersion string    `json:"protocolVersion,omitempty"`
	ServerName      string    `json:"serverName,omitempty"`
	ServerVersion   string    `json:"serverVersion,omitempty"`
	Tools           int       `json:"tools"`
	Resources       int       `json:"resources"`
	Prompts         int       `json:"prompts"`
	Bridges         int       `json:"bridges"`
	SessionsOpened  int       `json:"sessionsOpened"`
	Disabled        bool      `json:"disabled,omitempty"`
	SignedIn        bool      `json:"signedIn,omitempty"`
	Events          []Event   `json:"events,omitempty"`
}

// Backoff is the supervisor's backoff: transport's one backoff type.
type Backoff = transport.Backoff

// Tuning holds the supervisor's timings. The zero value means defaults.
type Tuning struct {
	// HoldTimeout is how long a request waits for a (re)connecting upstream.
	HoldTimeout time.Duration
	// OutageHold replaces HoldTimeout once the upstream has been down for
	// longer than HoldTimeout: a server that has not answered for that long
	// is not coming back within a blip, and the IDE gets the reason soon
	// (after the retry its request triggers) instead of after HoldTimeout.
	OutageHold time.Duration
	// ConnectTimeout bounds one connect + initialize.
	ConnectTimeout time.Duration
	// ProbeInterval is how long a session may be idle before a ping.
	ProbeInterval time.Duration
	// ProbeTimeout bounds that ping.
	ProbeTimeout time.Duration
	// FirstConnectWait is how long an IDE's initialize waits for the very
	// first upstream connection, to mirror its capabilities.
	FirstConnectWait time.Duration
	Backoff          Backoff
}

func (t Tuning) withDefaults() Tuning {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.HoldTimeout, 30*time.Second)
	def(&t.OutageHold, 3*time.Second)
	def(&t.ConnectTimeout, 20*time.Second)
	def(&t.ProbeInterval, 30*time.Second)
	def(&t.ProbeTimeout, 10*time.Second)
	def(&t.FirstConnectWait, 3*time.Second)
	if t.Backoff.Base <= 0 {
		t.Backoff.Base = 500 * time.Millisecond
	}
	if t.Backoff.Cap <= 0 {
		t.Backoff.Cap = 30 * time.Second
	}
	if t.Backoff.Jitter == 0 {
		t.Backoff.Jitter = 0.2
	}
	return t
}

// session is one live upstream connection plus what its initialize said.
type session struct {
	conn     transport.Conn
	gen      int
	init     json.RawMessage // the initialize result, raw
	started  time.Time
	lastUsed atomic.Int64 // unix nanos of the last successful exchange
	// installed is set once the session is the current one; before that
	// (during initialize) init is not yet known.
	installed atomic.Bool
	// served is set once a forwarded request succeeded on the session.
	served atomic.Bool
	broken transport.Broken
	ctx    context.Context
	cancel context.CancelFunc

	// serverReqs bounds the server's requests (sampling, elicitation,
	// roots) the hub works on at once.
	serverReqs chan struct{}

	// A health check run for requests that failed on the session.
	checkMu   sync.Mutex
	checking  chan struct{} // closed when the running check ends
	checkErr  error
	checkedOK time.Time
}

func (s *session) fail(err error) { s.broken.Fail(err) }

func (s *session) touch() { s.lastUsed.Store(time.Now().UnixNano()) }

// upstream supervises one server: it owns the session, rebuilds it, and
// forwards requests from downstreams.
type upstream struct {
	name   string
	log    *slog.Logger
	tuning Tuning
	env    func(string) (string, bool)
	jar    http.CookieJar
	notify func() // tells the hub something changed (UI, status)

	creds       *credentials
	home        string
	openBrowser func(ctx context.Context, url string) error
	noAutoLogin bool
	clientMeta  string           // client ID metadata document URL
	secrets     *logfile.Secrets // the hub's known secrets (secrets.go)
	runCtx      context.Context  // the supervisor's lifetime, for logins
	// bg owns every goroutine the supervisor and its sessions start
	// (logins, drains of replaced sessions, list refreshes, cancels,
	// server requests, probes); run waits for it on its way out.
	bg group.Group

	stopping    atomic.Bool
	nextID      atomic.Int64
	nextTok     atomic.Int64
	lastFailure atomic.Pointer[failureHint]
	// lastReqRetry is when an IDE request last cut a backoff short.
	lastReqRetry atomic.Int64
	// graceful marks the next kick as a rebuild after a sign-in.
	graceful atomic.Bool
	kick     chan struct{}
	reconfCh chan struct{}
	// sem bounds the requests in flight to the server (maxInFlight).
	sem *fairSem
	// serverReqDrops counts server requests refused for too many at once.
	serverReqDrops dropLog

	mu          sync.Mutex
	cfg         config.Server
	global      globalSettings
	state       State
	since       time.Time
	downSince   time.Time // when the upstream last stopped being connected; zero while it is
	lastErr     string
	nextAt      time.Time
	events      []Event
	changed     chan struct{}
	cur         *session
	everUp      bool
	gen         int
	lastTrans   string // the transport that worked last, for auto
	serverInfo  struct{ Name, Version string }
	counts      [3]int
	hashes      [3]string
	sessionsN   int
	inflight    map[string]*call // upstream id → call
	tokens      map[string]*progressRoute
	downstreams map[*downstream]struct{}
	auth        authState
	subs        map[string]int  // resource URI → IDEs subscribed
	logLevel    json.RawMessage // the last logging/setLevel params
	stopped     bool
	lastInit    json.RawMessage
}

// globalSettings are config values shared by every server.
type globalSettings struct {
	CAFile string
	Limits config.Limits
}

// limits are the server's effective limits.
func (u *upstream) limits() config.Limits {
	u.mu.Lock()
	defer u.mu.Unlock()
	return config.EffectiveLimits(u.cfg.Limits, u.global.Limits)
}

// call is one downstream request in flight upstream.
type call struct {
	ds     *downstream
	dsID   json.RawMessage
	method string
	sess   *session
	cancel context.CancelCauseFunc
}

type progressRoute struct {
	ds    *downstream
	token json.RawMessage
}

// upstreamDeps is what a supervisor gets from its hub.
type upstreamDeps struct {
	tuning      Tuning
	log         *slog.Logger
	notify      func()       // something changed (UI, status)
	creds       *credentials // nil: no OAuth
	home        string       // state dir (lock files)
	openBrowser func(ctx context.Context, url string) error
	noAutoLogin bool // never open a browser without being asked
	// clientMetadataURL is the client ID metadata document URL ("": none).
	clientMetadataURL string
	// secrets is the hub's set of known secrets (nil: none scrubbed).
	secrets *logfile.Secrets
}

func newUpstream(name string, cfg config.Server, g globalSettings, deps upstreamDeps) *upstream {
	jar, _ := cookiejar.New(nil)
	log := deps.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &upstream{
		name:        name,
		log:         log.With("server", name),
		tuning:      deps.tuning.withDefaults(),
		env:         os.LookupEnv,
		jar:         jar,
		notify:      deps.notify,
		creds:       deps.creds,
		home:        deps.home,
		openBrowser: deps.openBrowser,
		noAutoLogin: deps.noAutoLogin,
		clientMeta:  deps.clientMetadataURL,
		secrets:     deps.secrets,
		runCtx:      context.Background(),
		kick:        make(chan struct{}, 1),
		reconfCh:    make(chan struct{}, 1),
		sem:         newFairSem(config.EffectiveLimits(cfg.Limits, g.Limits).MaxInFlight),
		serverReqDrops: dropLog{
			msg: "the server sent more requests (sampling, elicitation, roots) than mcptray serves at once; dropped some",
		},
		cfg:         cfg,
		global:      g,
		state:       StateConnecting,
		since:       time.Now(),
		changed:     make(chan struct{}),
		inflight:    map[string]*call{},
		tokens:      map[string]*progressRoute{},
		downstreams: map[*downstream]struct{}{},
		subs:        map[string]int{},
	}
	if u.notify == nil {
		u.notify = func() {}
	}
	return u
}

// setState records a transition. The caller must not hold u.mu.
func (u *upstream) setState(st State, reason string, next time.Time) {
	reason = u.scrub(reason)
	u.mu.Lock()
	if u.state == st && u.lastErr == reason && st != StateBackoff {
		u.mu.Unlock()
		return
	}
	now := time.Now()
	u.state, u.since, u.nextAt = st, now, next
	switch {
	case st == StateConnected:
		u.downSince = time.Time{}
	case u.downSince.IsZero():
		u.downSince = now
	}
	switch st {
	case StateBackoff, StateFailed, StateNeedsLogin:
		u.lastErr = reason // connecting/connected reasons are not errors
	}
	u.events = append(u.events, Event{Time: now, State: st, Reason: reason})
	if len(u.events) > maxEvents {
		u.events = append(u.events[:0:0], u.events[len(u.events)-maxEvents:]...)
	}
	close(u.changed)
	u.changed = make(chan struct{})
	u.mu.Unlock()
	lvl := slog.LevelInfo
	if st == StateBackoff || st == StateFailed || st == StateNeedsLogin {
		lvl = slog.LevelWarn
	}
	u.log.Log(context.Background(), lvl, "state", "state", string(st), "reason", reason)
	u.notify()
}

func (u *upstream) status(withEvents bool) ServerStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := ServerStatus{
		Name: u.name, URL: u.scrub(u.cfg.URL), State: u.state, Since: u.since, LastError: u.scrub(u.lastErr),
		NextAttempt: u.nextAt, Tools: u.counts[0], Resources: u.counts[1], Prompts: u.counts[2],
		Bridges: len(u.downstreams), SessionsOpened: u.sessionsN, Disabled: u.cfg.Disabled,
		ServerName: u.serverInfo.Name, ServerVersion: u.serverInfo.Version,
		SignedIn: u.auth.signedIn,
	}
	if u.cur != nil {
		st.Transport = u.cur.conn.Transport()
		st.ProtocolVersion = protocolOf(u.cur.init)
	} else {
		st.Transport = u.lastTrans
	}
	if withEvents {
		// Reasons were scrubbed when recorded; again, for secrets learned
		// since.
		st.Events = make([]Event, len(u.events))
		for i, e := range u.events {
			e.Reason = u.scrub(e.Reason)
			st.Events[i] = e
		}
	}
	return st
}

// reconnect asks for an immediate rebuild. While a connect attempt runs it
// does nothing: that attempt is the rebuild.
func (u *upstream) reconnect() {
	u.mu.Lock()
	st := u.state
	u.mu.Unlock()
	if st == StateConnecting {
		return
	}
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// reconfigure swaps the server's config and rebuilds.
func (u *upstream) reconfigure(cfg config.Server, g globalSettings) {
	u.mu.Lock()
	u.cfg, u.global = cfg, g
	u.mu.Unlock()
	u.sem.setMax(config.EffectiveLimits(cfg.Limits, g.Limits).MaxInFlight)
	select {
	case u.reconfCh <- struct{}{}:
	default:
	}
}

func (u *upstream) config() (config.Server, globalSettings) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cfg, u.global
}

// run is the supervisor's outer loop: connect, serve until broken, decide
// how long to wait, repeat. It returns when ctx ends, closing the session.
func (u *upstream) run(ctx context.Context) {
	u.mu.Lock()
	u.runCtx = ctx
	u.mu.Unlock()
	attempt := 0
	authRetried := false
	immediate := true
	why := ""
	for ctx.Err() == nil {
		cfg, g := u.config()
		if cfg.Disabled {
			u.setState(StateDisabled, "disabled in the config", time.Time{})
			if !u.waitKick(ctx, 0) {
				break
			}
			attempt, immediate = 0, true
			continue
		}
		if !immediate {
			attempt++
			d := u.tuning.Backoff.Delay(attempt)
			if ra := u.retryAfterHint(); ra > d {
				d = min(ra, 5*time.Minute)
			}
			u.mu.Lock()
			reason := u.lastErr
			u.mu.Unlock()
			u.setState(StateBackoff, reason, time.Now().Add(d))
			if !u.waitKick(ctx, d) && ctx.Err() != nil {
				break
			}
		}
		u.drainKick()
		u.setState(StateConnecting, u.connectReason(attempt, why), time.Time{})
		s, err := u.connect(ctx, cfg, g)
		why = ""
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, errReconfigured) {
				attempt, immediate = 0, true
				continue
			}
			u.log.Warn("connect failed", "err", err)
			var ae *transport.AuthError
			var ce *transport.ConfigError
			switch {
			case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
				retry, rerr := u.afterUnauthorized(ctx, ae)
				if retry && !authRetried {
					authRetried, immediate = true, true
					why = "token refreshed"
					continue
				}
				if rerr != nil {
					u.mu.Lock()
					u.lastErr = u.scrub(describe(rerr))
					u.mu.Unlock()
					immediate = false
					continue
				}
				u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
				if !u.waitLogin(ctx) {
					break
				}
				attempt, immediate, authRetried = 0, true, false
			case errors.As(err, &ce):
				u.setState(StateFailed, "bad config: "+err.Error()+"; fix the config file", time.Time{})
				if !u.waitKick(ctx, 0) {
					break
				}
				attempt, immediate = 0, true
			default:
				u.mu.Lock()
				u.lastErr = u.scrub(describe(err))
				u.mu.Unlock()
				u.lastFailure.Store(&failureHint{err: err})
				immediate = false
			}
			continue
		}
		authRetried = false
		u.install(s)
		reason, again := u.serve(ctx, s)
		if ctx.Err() != nil {
			u.stopping.Store(true)
		}
		u.uninstall(s, reason)
		why = "rebuilding: " + describe(reason)
		if ctx.Err() != nil {
			break
		}
		lived := time.Since(s.started)
		switch {
		case again:
			attempt, immediate = 0, true
		case lived > 10*time.Second || s.served.Load():
			// A session that worked gets an immediate rebuild; one that died
			// before serving anything is flapping and backs off.
			attempt, immediate = 0, true
			u.lastFailure.Store(&failureHint{err: reason})
		default:
			u.lastFailure.Store(&failureHint{err: reason})
			immediate = attempt == 0
			if immediate {
				attempt = 1
			}
		}
		u.mu.Lock()
		u.lastErr = u.scrub(describe(reason))
		u.mu.Unlock()
	}
	u.stopping.Store(true)
	// Every session is closed or draining (a drain ends with ctx): what
	// the supervisor started ends with them.
	u.bg.Wait()
	u.mu.Lock()
	u.stopped = true
	u.mu.Unlock()
}

type failureHint struct{ err error }

func (u *upstream) retryAfterHint() time.Duration {
	h := u.lastFailure.Load()
	if h == nil {
		return 0
	}
	var se *transport.StatusError
	if errors.As(h.err, &se) {
		return se.RetryAfter
	}
	return 0
}

func (u *upstream) connectReason(attempt int, why string) string {
	if attempt == 0 {
		return why
	}
	if why == "" {
		return fmt.Sprintf("attempt %d", attempt+1)
	}
	return fmt.Sprintf("attempt %d, %s", attempt+1, why)
}

// waitKick waits d (0 = forever) or until reconnect/reconfigure. It
// returns false when ctx ended.
func (u *upstream) waitKick(ctx context.Context, d time.Duration) bool {
	var tc <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-u.kick:
	case <-u.reconfCh:
	case <-tc:
	}
	return true
}

// waitLogin waits in needs_login for a sign-in (which kicks), a config
// change, or credentials stored by another process.
func (u *upstream) waitLogin(ctx context.Context) bool {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-u.kick:
			return true
		case <-u.reconfCh:
			return true
		case <-t.C:
			if u.storedTokens(ctx) {
				u.dropCachedToken()
				u.log.Info("credentials appeared in the store; reconnecting")
				return true
			}
		}
	}
}

func (u *upstream) drainKick() {
	select {
	case <-u.kick:
	default:
	}
}

var errReconfigured = errors.New("config changed")

// errRebuildAfterLogin is why a session is replaced after a sign-in: the
// old one still works, so requests running on it may finish.
var errRebuildAfterLogin = errors.New("signed in; using the new credentials")

// httpClient builds a fresh HTTP client (new connection pool) sharing the
// server's cookie jar.
func (u *upstream) httpClient(g globalSettings) (*http.Client, error) {
	opts := transport.ClientOptions{MaxIdlePerHost: 64}
	if g.CAFile != "" {
		pool, err := config.LoadCAFile(g.CAFile)
		if err != nil {
			return nil, &transport.ConfigError{Err: fmt.Errorf("caFile: %w", err)}
		}
		opts.RootCAs = pool
	}
	u.mu.Lock()
	opts.Jar = u.jar
	u.mu.Unlock()
	return transport.NewHTTPClient(opts), nil
}

// connect opens and initializes a session, trying the transports the
// config allows.
func (u *upstream) connect(ctx context.Context, cfg config.Server, g globalSettings) (*session, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, u.tuning.ConnectTimeout, fmt.Errorf("connect and initialize took longer than %s", u.tuning.ConnectTimeout))
	defer cancel()
	// A config change cancels the attempt.
	cctx, ccancel := context.WithCancelCause(ctx)
	defer ccancel(nil)
	done, watched := make(chan struct{}), make(chan struct{})
	defer func() { close(done); <-watched }()
	go func() {
		defer close(watched)
		select {
		case <-u.reconfCh:
			ccancel(errReconfigured)
		case <-done:
		}
	}()

	r, err := u.resolve(cfg)
	if err != nil {
		return nil, err
	}
	client, err := u.httpClient(g)
	if err != nil {
		return nil, err
	}
	am, err := u.manager(ctx, r, cfg, client)
	if err != nil {
		u.log.Warn("OAuth is unavailable for this server", "err", err)
	}
	ts := u.tokenSource(am)
	token := func(ctx context.Context) (string, error) { return u.bearer(ctx, ts) }
	order := []string{cfg.Transport}
	if cfg.Transport == config.TransportAuto || cfg.Transport == "" {
		order = []string{config.TransportStreamable, config.TransportSSE}
		u.mu.Lock()
		if u.lastTrans == config.TransportSSE {
			order = []string{config.TransportSSE, config.TransportStreamable}
		}
		u.mu.Unlock()
	}
	pv := cfg.ProtocolVersion
	if pv == "" {
		pv = config.DefaultProtocolVersion
	}
	var firstErr error
	var tried []string
	for i, tname := range order {
		s, err := u.connectWith(cctx, tname, r, client, pv, token)
		if err == nil {
			return s, nil
		}
		if c := context.Cause(cctx); c != nil && cctx.Err() != nil {
			if errors.Is(c, errReconfigured) {
				return nil, errReconfigured
			}
			if ctx.Err() != nil && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
		tried = append(tried, tname+": "+err.Error())
		// Fall back (auto only) on a 4xx other than auth, per the spec's
		// backwards-compatibility rule.
		var se *transport.StatusError
		if i+1 < len(order) && !(errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != 429 && se.Status != 408) {
			if order[0] == config.TransportStreamable {
				return nil, err
			}
			// SSE was tried first from memory; still try streamable.
		}
	}
	if len(tried) > 1 {
		return nil, &fallbackError{first: firstErr, msg: strings.Join(tried, "; ")}
	}
	return nil, firstErr
}

// fallbackError reports both transports of auto; it unwraps to the first.
type fallbackError struct {
	first error
	msg   string
}

func (e *fallbackError) Error() string { return e.msg }
func (e *fallbackError) Unwrap() error { return e.first }

func (u *upstream) connectWith(ctx context.Context, tname string, r config.Resolved, client *http.Client, pv string, token func(context.Context) (string, error)) (*session, error) {
	opts := transport.Options{URL: r.URL, Client: client, Headers: r.Headers, Logger: u.log, Token: token, MaxMessage: u.limits().MaxMessageSize}
	sess := &session{broken: transport.NewBroken(), started: time.Now(), serverReqs: make(chan struct{}, maxServerRequests)}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			sess.cancel()
		}
	}()
	opts.Inbound = func(m *jsonrpc.Message, related string) { u.inbound(sess, m, related) }
	var conn transport.Conn
	switch tname {
	case config.TransportSSE:
		c, err := transport.DialSSE(ctx, opts)
		if err != nil {
			return nil, err
		}
		conn = c
	default:
		conn = transport.NewStreamable(opts)
	}
	sess.conn = conn
	initParams, _ := json.Marshal(map[string]any{
		"protocolVersion": pv,
		"capabilities": map[string]any{
			"sampling":    map[string]any{},
			"elicitation": map[string]any{},
			"roots":       map[string]any{"listChanged": true},
		},
		"clientInfo": map[string]any{"name": "mcptray", "title": "mcptray", "version": Version},
	})
	req := &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "initialize", Params: initParams}
	resp, err := conn.Call(ctx, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.Error != nil {
		conn.Close()
		var re jsonrpc.Error
		_ = json.Unmarshal(resp.Error, &re)
		return nil, fmt.Errorf("initialize was refused: %s", re.Message)
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"serverInfo"`
	}
	if err := json.Unmarshal(resp.Result, &ir); err != nil || ir.ProtocolVersion == "" {
		conn.Close()
		return nil, &transport.StreamError{Err: fmt.Errorf("initialize result is not valid: %q", transport.ShortBody(resp.Result)), Garbage: true}
	}
	conn.SetProtocolVersion(ir.ProtocolVersion)
	if err := conn.Send(ctx, &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/initialized"}); err != nil {
		conn.Close()
		return nil, err
	}
	if sc, ok := conn.(*transport.StreamableConn); ok {
		sc.Listen()
	}
	sess.init = resp.Result
	sess.touch()
	ok = true
	u.mu.Lock()
	u.serverInfo.Name, u.serverInfo.Version = ir.ServerInfo.Name, ir.ServerInfo.Version
	u.mu.Unlock()
	return sess, nil
}

// install makes s the current session and tells everyone.
func (u *upstream) install(s *session) {
	u.mu.Lock()
	u.gen++
	s.gen = u.gen
	u.cur = s
	u.auth.signedIn = u.auth.tokens != nil && u.auth.tokens.Cached()
	s.installed.Store(true)
	u.lastInit = s.init
	u.everUp = true
	u.sessionsN++
	u.lastTrans = s.conn.Transport()
	u.mu.Unlock()
	u.log.Info("session up", "transport", s.conn.Transport(), "protocol", protocolOf(s.init))
	u.setState(StateConnected, "", time.Time{})
	u.bg.Go(func() {
		u.replaySessionState(s)
		u.refreshLists(s, true)
	})
}

// uninstall tears s down; requests in flight on it fail and are retried
// or answered by their callers.
func (u *upstream) uninstall(s *session, reason error) {
	u.mu.Lock()
	if u.cur == s {
		u.cur = nil
	}
	u.mu.Unlock()
	s.fail(reason)
	u.log.Info("session down", "reason", describe(reason))
	var se *transport.StreamError
	drainable := errors.As(reason, &se) || errors.Is(reason, errRebuildAfterLogin)
	if !drainable || s.conn.Busy() == 0 || u.stopping.Load() {
		s.cancel()
		s.conn.Close()
		return
	}
	// Requests still running on their own response streams may finish;
	// the old session is closed once they have, after a grace period, or
	// when the supervisor stops.
	u.mu.Lock()
	stop := u.runCtx.Done()
	u.mu.Unlock()
	drained := u.bg.Go(func() {
		grace := time.NewTimer(drainGrace)
		defer grace.Stop()
	wait:
		for s.conn.Busy() > 0 {
			select {
			case <-s.conn.Idle():
			case <-grace.C:
				break wait
			case <-stop:
				break wait
			}
		}
		s.cancel()
		s.conn.Close()
	})
	if !drained {
		s.cancel()
		s.conn.Close()
	}
}

// drainGrace bounds how long a replaced session is kept for the requests
// still running on it.
const drainGrace = 2 * time.Minute

// serve waits until the session breaks, a rebuild is asked for, or ctx
// ends. again reports a rebuild that should happen at once.
func (u *upstream) serve(ctx context.Context, s *session) (reason error, again bool) {
	t := time.NewTicker(max(u.tuning.ProbeInterval/4, 10*time.Millisecond))
	defer t.Stop()
	probing := make(chan error, 1)
	inProbe := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err(), false
		case <-s.conn.Done():
			return s.conn.Err(), false
		case <-s.broken.Done():
			return s.broken.Err(), false
		case <-u.kick:
			if u.graceful.Swap(false) {
				return errRebuildAfterLogin, true
			}
			return errors.New("reconnect requested"), true
		case <-u.reconfCh:
			return errors.New("config changed"), true
		case err := <-probing:
			inProbe = false
			if err != nil {
				return fmt.Errorf("health probe failed: %w", err), false
			}
		case <-t.C:
			idle := time.Since(time.Unix(0, s.lastUsed.Load()))
			if !inProbe && idle >= u.tuning.ProbeInterval {
				inProbe = true
				u.bg.Go(func() { probing <- u.ping(s) })
			}
		}
	}
}

// ping checks that the session answers.
func (u *upstream) ping(s *session) error {
	ctx, cancel := context.WithTimeoutCause(s.ctx, u.tuning.ProbeTimeout, fmt.Errorf("no answer to ping within %s", u.tuning.ProbeTimeout))
	defer cancel()
	resp, err := s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "ping"})
	if err != nil {
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			return c
		}
		return err
	}
	_ = resp // any answer, even an error, shows the session is alive
	s.touch()
	return nil
}

// refreshLists counts tools, resources and prompts and, when a list
// differs from the one the previous session had, tells every attached
// downstream with list_changed.
func (u *upstream) refreshLists(s *session, afterConnect bool) {
	caps := capabilitiesOf(s.init)
	kinds := []struct {
		cap, method, field, notif string
	}{
		{"tools", "tools/list", "tools", "notifications/tools/list_changed"},
		{"resources", "resources/list", "resources", "notifications/resources/list_changed"},
		{"prompts", "prompts/list", "prompts", "notifications/prompts/list_changed"},
	}
	for i, k := range kinds {
		if _, ok := caps[k.cap]; !ok {
			continue
		}
		n, hash, err := u.listAll(s, k.method, k.field)
		if err != nil {
			u.log.Debug("list refresh failed", "method", k.method, "err", err)
			continue
		}
		u.mu.Lock()
		changed := u.hashes[i] != hash
		u.hashes[i], u.counts[i] = hash, n
		u.mu.Unlock()
		if changed && afterConnect {
			u.broadcast(jsonrpc.EncodeRequest(nil, k.notif, nil))
		}
	}
	u.notify()
}

func (u *upstream) listAll(s *session, method, field string) (int, string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	h := sha256.New()
	n := 0
	cursor := ""
	for page := 0; page < 100; page++ {
		var params json.RawMessage
		if cursor != "" {
			params, _ = json.Marshal(map[string]string{"cursor": cursor})
		}
		resp, err := s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: method, Params: params})
		if err != nil {
			return 0, "", err
		}
		if resp.Error != nil {
			return 0, "", fmt.Errorf("%s", resp.Error)
		}
		var r map[string]json.RawMessage
		if err := json.Unmarshal(resp.Result, &r); err != nil {
			return 0, "", err
		}
		var items []json.RawMessage
		_ = json.Unmarshal(r[field], &items)
		n += len(items)
		h.Write(r[field])
		var next string
		_ = json.Unmarshal(r["nextCursor"], &next)
		if next == "" {
			break
		}
		cursor = next
	}
	return n, fmt.Sprintf("%x", h.Sum(nil)), nil
}

func capabilitiesOf(init json.RawMessage) map[string]json.RawMessage {
	var r struct {
		Capabilities map[string]json.RawMessage `json:"capabilities"`
	}
	_ = json.Unmarshal(init, &r)
	if r.Capabilities == nil {
		r.Capabilities = map[string]json.RawMessage{}
	}
	return r.Capabilities
}

func protocolOf(init json.RawMessage) string {
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(init, &r)
	return r.ProtocolVersion
}
