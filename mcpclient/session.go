package mcpclient

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// session is one live upstream connection plus what its initialize said.
type session struct {
	conn      transport.Conn
	transport string // config.TransportStreamable or config.TransportSSE
	gen       int
	init      json.RawMessage // the initialize result, raw
	started   time.Time
	lastUsed  atomic.Int64 // unix nanos of the last successful exchange
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

// httpClient builds a fresh HTTP client (new connection pool) sharing the
// server's cookie jar.
func (u *supervisor) httpClient(g globalSettings) (*http.Client, error) {
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
func (u *supervisor) connect(ctx context.Context, cfg config.Server, g globalSettings) (*session, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, u.tuning.ConnectTimeout, fmt.Errorf("connect and initialize took longer than %s", u.tuning.ConnectTimeout))
	defer cancel()
	// A config change cancels the attempt.
	cctx, ccancel := context.WithCancelCause(ctx)
	defer ccancel(nil)
	done, watched := make(chan struct{}), make(chan struct{})
	stopWatch := sync.OnceFunc(func() { close(done); <-watched })
	defer stopWatch()
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
			// A config change that came while the session was being built
			// (the watcher took its signal) makes it stale.
			stopWatch()
			if errors.Is(context.Cause(cctx), errReconfigured) {
				s.cancel()
				s.conn.Close()
				return nil, errReconfigured
			}
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

func (u *supervisor) connectWith(ctx context.Context, tname string, r config.Resolved, client *http.Client, pv string, token func(context.Context) (string, error)) (*session, error) {
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
	// The concrete connection: its creator also sets the version.
	var conn interface {
		transport.Conn
		SetProtocolVersion(string)
	}
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
	sess.transport = config.TransportStreamable
	if tname == config.TransportSSE {
		sess.transport = config.TransportSSE
	}
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
func (u *supervisor) install(s *session) {
	u.mu.Lock()
	u.gen++
	s.gen = u.gen
	u.cur = s
	u.auth.signedIn = u.auth.tokens != nil && u.auth.tokens.Cached()
	s.installed.Store(true)
	u.lastInit = s.init
	u.everUp = true
	u.sessionsN++
	u.lastTrans = s.transport
	u.mu.Unlock()
	u.log.Info("session up", "transport", s.transport, "protocol", protocolOf(s.init))
	u.setState(StateConnected, "", time.Time{})
	u.bg.Go(func() {
		u.replaySessionState(s)
		u.refreshLists(s, true)
	})
}

// uninstall tears s down; requests in flight on it fail and are retried
// or answered by their callers.
func (u *supervisor) uninstall(s *session, reason error) {
	u.mu.Lock()
	if u.cur == s {
		u.cur = nil
	}
	u.mu.Unlock()
	s.fail(reason)
	u.log.Info("session down", "reason", describe(reason))
	var se *transport.StreamError
	drainable := errors.As(reason, &se) || errors.Is(reason, errRebuildAfterLogin)
	if !drainable || isClosed(s.conn.Idle()) || u.stopping.Load() {
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
		for !isClosed(s.conn.Idle()) {
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

// ping checks that the session answers.
func (u *supervisor) ping(s *session) error {
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
func (u *supervisor) refreshLists(s *session, afterConnect bool) {
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

func (u *supervisor) listAll(s *session, method, field string) (int, string, error) {
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
