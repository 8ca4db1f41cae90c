package mcpclient

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/internal/group"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

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
	// DiscoverWait is how long the era probe (a modern server/discover)
	// runs alone when a legacy connect could follow it. A server that has
	// not answered by then may be a legacy one that never answers a
	// sessionless request, so the legacy connect starts beside the probe
	// and the first session to come up wins. Default: ConnectTimeout/4.
	DiscoverWait time.Duration
	// ProbeInterval is how long a session may be idle before a ping.
	ProbeInterval time.Duration
	// ProbeTimeout bounds that ping.
	ProbeTimeout time.Duration
	// FirstConnectWait is how long an IDE's initialize waits for the very
	// first upstream connection, to mirror its capabilities.
	FirstConnectWait time.Duration
	Backoff          Backoff
	// HTTPSessionIdle ends an HTTP endpoint's legacy session that had no
	// request and no open GET stream for this long (default 24h).
	HTTPSessionIdle time.Duration
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
	def(&t.DiscoverWait, t.ConnectTimeout/4)
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

// supervisor supervises one server (its upstream): states, backoff, events
// and the decisions to rebuild; it owns the current session (session.go)
// and, through the router (router.go), what ties the attached IDEs to it.
// Its run loop is in supervisor.go, forwarding in forward.go.
type supervisor struct {
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
	// router ties the attached IDEs to the session (its own lock).
	router *router
	// serverReqDrops counts server requests refused for too many at once.
	serverReqDrops dropLog

	mu         sync.Mutex
	cfg        config.Server
	global     globalSettings
	state      State
	since      time.Time
	downSince  time.Time // when the upstream last stopped being connected; zero while it is
	lastErr    string
	nextAt     time.Time
	events     []Event
	changed    chan struct{}
	cur        *session
	everUp     bool
	gen        int
	lastTrans  string // the transport that worked last, for auto
	serverInfo struct{ Name, Version string }
	counts     [3]int
	hashes     [3]string
	sessionsN  int
	auth       authState
	stopped    bool
	lastInit   json.RawMessage
	probe      *probe // the last era probe (era.go)

	// parked are modern IDEs' requests waiting for their input
	// (mrtr_park.go), by requestState.
	parkMu sync.Mutex
	parked map[string]*parked
	// lists keeps a modern session's list results for their ttlMs.
	lists listCache
	// toolHeaders are the x-mcp-header annotations of a modern server's
	// tools (xheader.go).
	toolHeaders toolHeaderTable
}

// globalSettings are config values shared by every server.
type globalSettings struct {
	CAFile string
	Limits config.Limits
	// ClientMetadataURL is the config's top-level clientMetadataUrl.
	ClientMetadataURL string
}

// limits are the server's effective limits.
func (u *supervisor) limits() config.Limits {
	u.mu.Lock()
	defer u.mu.Unlock()
	return config.EffectiveLimits(u.cfg.Limits, u.global.Limits)
}

// supervisorDeps is what a supervisor gets from its hub.
type supervisorDeps struct {
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

func newSupervisor(name string, cfg config.Server, g globalSettings, deps supervisorDeps) *supervisor {
	jar, _ := cookiejar.New(nil)
	log := deps.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &supervisor{
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
		cfg:     cfg,
		global:  g,
		state:   StateConnecting,
		since:   time.Now(),
		changed: make(chan struct{}),
		router:  newRouter(),
	}
	if u.notify == nil {
		u.notify = func() {}
	}
	return u
}

func (u *supervisor) config() (config.Server, globalSettings) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cfg, u.global
}

// current is the live session, or nil.
func (u *supervisor) current() *session {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cur
}
