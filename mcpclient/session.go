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
	// modern is set for a session in the 2026-07-28 era: no initialize,
	// version is what every request's _meta names, discover the server's
	// DiscoverResult (init is shaped from it).
	modern   bool
	version  atomic.Pointer[string]
	discover json.RawMessage
	// relisten asks the session's subscriptions/listen loop to reopen
	// its stream with the current filter (modern sessions).
	relisten chan struct{}
	gen      int
	init     json.RawMessage // the initialize result, raw
	started  time.Time
	lastUsed atomic.Int64 // unix nanos of the last successful exchange
	// installed is set once the session is the current one; before that
	// (during initialize) init is not yet known.
	installed atomic.Bool
	// replaces: an earlier session of this server was up before this one
	// (set at install), so resource updates sent between them are lost.
	replaces bool
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

// close ends a session that was never installed.
func (s *session) close() {
	s.cancel()
	s.conn.Close()
}

// ver is the protocol version a modern session's requests name.
func (s *session) ver() string {
	if v := s.version.Load(); v != nil {
		return *v
	}
	return ""
}

// setVersion changes it (a server that refused ours named another).
func (s *session) setVersion(v string) {
	s.version.Store(&v)
	if c, ok := s.conn.(*transport.StreamableConn); ok {
		c.SetProtocolVersion(v)
	}
}

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
	pv := cfg.ProtocolVersion
	try := func(ctx context.Context, a attempt) (*session, error) {
		if a.era == eraModern {
			return u.connectModern(ctx, r, client, pv, token)
		}
		lpv := pv
		if lpv == "" {
			lpv = config.DefaultProtocolVersion
		}
		return u.connectWith(ctx, a.transport, r, client, lpv, token)
	}
	attempts := u.connectOrder(cfg)
	var s *session
	if len(attempts) > 1 && attempts[0].era == eraModern {
		s, err = u.raceEras(cctx, attempts, try)
	} else {
		s, err = u.tryInTurn(cctx, attempts, try)
	}
	if err == nil {
		// A config change that came while the session was being built
		// (the watcher took its signal) makes it stale.
		stopWatch()
		if errors.Is(context.Cause(cctx), errReconfigured) {
			s.close()
			return nil, errReconfigured
		}
		era := eraLegacy
		if s.modern {
			era = eraModern
		}
		var ir struct {
			ServerInfo struct{ Name, Version string }
		}
		_ = json.Unmarshal(s.init, &ir)
		u.mu.Lock()
		u.serverInfo.Name, u.serverInfo.Version = ir.ServerInfo.Name, ir.ServerInfo.Version
		u.mu.Unlock()
		u.rememberEra(r.URL, eraRecord{Era: era, Version: protocolOf(s.init), Transport: s.transport})
		return s, nil
	}
	if c := context.Cause(cctx); c != nil && cctx.Err() != nil {
		if errors.Is(c, errReconfigured) {
			return nil, errReconfigured
		}
		if ctx.Err() != nil && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
			// What the other attempts answered before the time ran out
			// says more than the timeout alone.
			var fe *fallbackError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("%w (%s)", context.Cause(ctx), fe.msg)
			}
			return nil, context.Cause(ctx)
		}
	}
	return nil, err
}

// tryInTurn tries the attempts one after the other, as far as each
// failure leads on to the next (fallsBack), and returns the first session.
func (u *supervisor) tryInTurn(ctx context.Context, attempts []attempt, try func(context.Context, attempt) (*session, error)) (*session, error) {
	var firstErr error
	var tried []string
	for i, a := range attempts {
		s, err := try(ctx, a)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
		tried = append(tried, a.String()+": "+err.Error())
		if i+1 < len(attempts) && !u.fallsBack(a, attempts[i+1], err) {
			return nil, err
		}
	}
	if len(tried) > 1 {
		return nil, &fallbackError{first: firstErr, msg: strings.Join(tried, "; ")}
	}
	return nil, firstErr
}

// errRaceLost cancels the era attempt whose rival brought a session up.
var errRaceLost = errors.New("the other protocol era connected first")

// raceEras connects when the modern probe comes first and a legacy
// connect may follow it (attempts[0] is modern, the rest legacy). The
// probe runs alone for DiscoverWait; an answer in that time decides as
// tryInTurn would. A server still silent by then may be a legacy one that
// never answers a sessionless server/discover (the HTTP binding's rule is
// about answers; the stdio binding's says a server that does not respond
// is legacy), or a slow modern one, so the legacy attempts start beside
// the probe and the first session to come up wins; the loser is stopped
// and closed. Neither era is guessed from silence alone.
func (u *supervisor) raceEras(ctx context.Context, attempts []attempt, try func(context.Context, attempt) (*session, error)) (*session, error) {
	type result struct {
		s      *session
		err    error
		modern bool
	}
	results := make(chan result, 2)
	mctx, mcancel := context.WithCancelCause(ctx)
	defer mcancel(nil)
	go func() {
		s, err := try(mctx, attempts[0])
		results <- result{s, err, true}
	}()
	wait := time.NewTimer(u.tuning.DiscoverWait)
	defer wait.Stop()
	select {
	case r := <-results:
		if r.err == nil {
			return r.s, nil
		}
		if ctx.Err() != nil || !u.fallsBack(attempts[0], attempts[1], r.err) {
			return nil, r.err
		}
		s, err := u.tryInTurn(ctx, attempts[1:], try)
		if err != nil {
			return nil, &fallbackError{first: r.err, msg: attempts[0].String() + ": " + r.err.Error() + "; " + err.Error()}
		}
		return s, nil
	case <-wait.C:
	}
	u.log.Info("server/discover has not been answered yet; trying initialize beside it", "after", u.tuning.DiscoverWait)
	lctx, lcancel := context.WithCancelCause(ctx)
	defer lcancel(nil)
	go func() {
		s, err := u.tryInTurn(lctx, attempts[1:], try)
		results <- result{s, err, false}
	}()
	var modernErr, legacyErr error
	for range 2 {
		r := <-results
		if r.err != nil {
			if r.modern {
				modernErr = r.err
			} else {
				legacyErr = r.err
			}
			continue
		}
		if r.modern {
			lcancel(errRaceLost)
		} else {
			mcancel(errRaceLost)
			u.setProbe("server/discover", fmt.Sprintf("no answer within %s", u.tuning.DiscoverWait), eraLegacy, "initialize answered while server/discover had not")
		}
		if modernErr == nil && legacyErr == nil {
			// The rival is still trying: it stops at its cancel, and a
			// session it finished meanwhile is closed.
			if o := <-results; o.s != nil {
				o.s.close()
			}
		}
		return r.s, nil
	}
	modernText, legacyText := modernErr.Error(), legacyErr.Error()
	if mctx.Err() != nil {
		modernText = "server/discover was not answered"
	}
	var fe *fallbackError
	if !errors.As(legacyErr, &fe) {
		legacyText = attempts[1].String() + ": " + legacyText
	}
	return nil, &fallbackError{first: modernErr, msg: attempts[0].String() + ": " + modernText + "; " + legacyText}
}

// attempt is one way connect may open a session: an era over a transport.
type attempt struct{ era, transport string }

func (a attempt) String() string {
	if a.era == eraModern {
		return "MCP 2026-07-28"
	}
	return a.transport
}

// connectOrder lists the ways to try, in order. The modern era comes
// first unless the config pins a legacy version or the SSE transport, or
// the endpoint spoke legacy last time (then modern is tried last: the
// cached assumption is re-probed when it fails).
func (u *supervisor) connectOrder(cfg config.Server) []attempt {
	pin := cfg.ProtocolVersion
	modernOK := pin == "" || config.IsModernVersion(pin)
	legacyOK := pin == "" || !config.IsModernVersion(pin)
	var out []attempt
	var legacy []attempt
	switch cfg.Transport {
	case config.TransportSSE:
		legacy = []attempt{{eraLegacy, config.TransportSSE}}
		modernOK = false
	case config.TransportStreamable:
		legacy = []attempt{{eraLegacy, config.TransportStreamable}}
	default:
		legacy = []attempt{{eraLegacy, config.TransportStreamable}, {eraLegacy, config.TransportSSE}}
		u.mu.Lock()
		if u.lastTrans == config.TransportSSE {
			legacy[0], legacy[1] = legacy[1], legacy[0]
		}
		u.mu.Unlock()
	}
	if !legacyOK {
		legacy = nil
	}
	cached, ok := u.cachedEra(cfg.URL)
	if modernOK && (!ok || cached.Era == eraModern || pin != "") {
		out = append(out, attempt{eraModern, config.TransportStreamable})
		modernOK = false
	}
	if ok && cached.Era == eraLegacy && cached.Transport == config.TransportSSE && len(legacy) == 2 {
		legacy[0], legacy[1] = attempt{eraLegacy, config.TransportSSE}, attempt{eraLegacy, config.TransportStreamable}
	}
	out = append(out, legacy...)
	if modernOK {
		out = append(out, attempt{eraModern, config.TransportStreamable})
	}
	return out
}

// fallsBack decides whether a failed attempt a leads on to next.
func (u *supervisor) fallsBack(a, next attempt, err error) bool {
	var nm *errNotModern
	if a.era == eraModern {
		// Only an answer that shows a legacy server falls back; an
		// outage, a 401 or a modern error does not.
		return errors.As(err, &nm)
	}
	// A legacy attempt that fails with a 4xx other than auth: the
	// backwards-compatibility rule (streamable → SSE), or the cached
	// legacy assumption failed (→ modern).
	var se *transport.StatusError
	var sess *transport.SessionError
	if errors.As(err, &sess) {
		return true
	}
	if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != 429 && se.Status != 408 {
		return true
	}
	// A refused initialize (a modern-only server answers it with an
	// error) also leads on to the modern attempt.
	return next.era == eraModern && errors.Is(err, errInitRefused)
}

// errInitRefused is the cause when a server answers initialize with a
// JSON-RPC error.
var errInitRefused = errors.New("initialize was refused")

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
		return nil, fmt.Errorf("%w: %s", errInitRefused, re.Message)
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
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
		sc.Listen(func() { u.getStreamReopened(sess) })
	}
	sess.init = resp.Result
	sess.touch()
	ok = true
	return sess, nil
}

// getStreamReopened catches up after a gap in a legacy session's GET
// stream (it ended and was opened again): list changes and resource
// updates the server sent while no stream was open may be lost, so the
// lists are fetched again (a change is announced) and every subscribed
// resource is announced as updated (announceUpdates), as listenLoop does
// for a modern session's listen stream.
func (u *supervisor) getStreamReopened(s *session) {
	if !s.installed.Load() {
		return // install fetches the lists; nothing was subscribed on s yet
	}
	u.bg.Go(func() { u.refreshLists(s, true) })
	_, uris := u.router.sessionState()
	u.announceUpdates(uris)
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
	s.replaces = u.everUp
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
	m := &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "ping"}
	if s.modern {
		// 2026-07-28 has no ping: server/discover is the cheap request.
		m.Method, m.Params = "server/discover", u.hubParams(s, nil)
	}
	resp, err := s.conn.Call(ctx, m)
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
			u.broadcastNotification(k.notif, nil)
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
		var fields map[string]any
		if cursor != "" {
			fields = map[string]any{"cursor": cursor}
		}
		params := u.hubParams(s, fields)
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
		if s.modern && method == "tools/list" {
			_ = u.learnTools(resp.Result)
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
