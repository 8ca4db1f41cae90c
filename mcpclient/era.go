package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptray/mcptray/auth/atomicfile"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// Protocol eras. MCP revision 2026-07-28 ("modern") is stateless: every
// request carries its version, the client's capabilities and identity in
// _meta, and there is no initialize. Revisions up to 2025-11-25
// ("legacy") open a session with initialize. The hub speaks both to
// servers: it tries a modern server/discover first and falls back to
// initialize when the answer shows a legacy server (the Streamable HTTP
// binding's "Backward Compatibility" rule), and remembers which era a
// server's endpoint spoke.
const (
	eraModern = "modern"
	eraLegacy = "legacy"
)

// _meta keys of the modern era.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
	metaLogLevel           = "io.modelcontextprotocol/logLevel"
	metaSubscriptionID     = "io.modelcontextprotocol/subscriptionId"
)

// modernMetaKeys are the keys the hub owns in a modern request's _meta:
// taken out of what an IDE sends to a legacy server, set by the hub for a
// modern one.
var modernMetaKeys = []string{metaProtocolVersion, metaClientCapabilities, metaClientInfo, metaLogLevel}

// errNotModern is the cause when a server answered the modern probe the
// way a legacy server does: connect falls back to initialize.
type errNotModern struct{ err error }

func (e *errNotModern) Error() string {
	return "the server does not speak MCP 2026-07-28 (" + e.err.Error() + ")"
}

func (e *errNotModern) Unwrap() error { return e.err }

// EraProbe is what the era detection of a server saw: the request it
// sent, the server's answer, the era it chose and why.
type EraProbe probe

// probe is what the era detection saw, for status and doctor.
type probe struct {
	Sent   string    `json:"sent"`
	Answer string    `json:"answer"`
	Era    string    `json:"era"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// connectModern opens a modern session: server/discover, retried once
// with a version the server names when it refuses ours.
func (u *supervisor) connectModern(ctx context.Context, r config.Resolved, client *http.Client, pin string, token func(context.Context) (string, error)) (*session, error) {
	version := config.ModernProtocolVersions[0]
	if pin != "" {
		version = pin
	}
	opts := transport.Options{URL: r.URL, Client: client, Headers: r.Headers, Logger: u.log, Token: token, MaxMessage: u.limits().MaxMessageSize}
	sess := &session{broken: transport.NewBroken(), started: time.Now(), serverReqs: make(chan struct{}, maxServerRequests), modern: true, relisten: make(chan struct{}, 1)}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	opts.Inbound = func(m *jsonrpc.Message, related string) { u.inbound(sess, m, related) }
	conn := transport.NewModern(opts, version)
	sess.conn = conn
	sess.transport = config.TransportStreamable
	fail := func(err error) (*session, error) {
		sess.cancel()
		conn.Close()
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		sess.setVersion(version)
		resp, err := conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "server/discover", Params: u.hubParams(sess, nil)})
		if err != nil {
			var se *transport.StatusError
			if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != http.StatusTooManyRequests && se.Status != http.StatusRequestTimeout {
				u.setProbe("server/discover "+version, fmt.Sprintf("HTTP %d %s", se.Status, se.Body), eraLegacy, "a 4xx without a recognised 2026-07-28 error body")
				return fail(&errNotModern{err})
			}
			var sterr *transport.StreamError
			if errors.As(err, &sterr) && sterr.Garbage {
				u.setProbe("server/discover "+version, describe(err), eraLegacy, "the answer is not JSON-RPC")
				return fail(&errNotModern{err})
			}
			return fail(err)
		}
		if resp.Error != nil {
			var je struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Data    struct {
					Supported []string `json:"supported"`
				} `json:"data"`
			}
			_ = json.Unmarshal(resp.Error, &je)
			answer := fmt.Sprintf("error %d %s", je.Code, je.Message)
			if je.Code == jsonrpc.CodeUnsupportedProtocolVersion {
				next := newestModern(je.Data.Supported)
				if next == "" || pin != "" || attempt > 0 {
					if next == "" && pin == "" {
						u.setProbe("server/discover "+version, answer, eraLegacy, fmt.Sprintf("the server supports only %v", je.Data.Supported))
						return fail(&errNotModern{fmt.Errorf("it supports %v", je.Data.Supported)})
					}
					u.setProbe("server/discover "+version, answer, eraModern, "no version in common")
					return fail(&transport.ConfigError{Err: fmt.Errorf("the server supports MCP versions %v, and mcptray speaks %v", je.Data.Supported, config.AllProtocolVersions())})
				}
				version = next
				conn.SetProtocolVersion(version)
				continue
			}
			if jsonrpc.IsModernError(je.Code) {
				u.setProbe("server/discover "+version, answer, eraModern, "a 2026-07-28 error")
				return fail(fmt.Errorf("server/discover was refused: %s", je.Message))
			}
			u.setProbe("server/discover "+version, answer, eraLegacy, "an error that is not one of 2026-07-28's")
			return fail(&errNotModern{errors.New(answer)})
		}
		var dr struct {
			SupportedVersions []string                   `json:"supportedVersions"`
			Capabilities      map[string]json.RawMessage `json:"capabilities"`
			Instructions      json.RawMessage            `json:"instructions"`
			Meta              map[string]json.RawMessage `json:"_meta"`
		}
		if err := json.Unmarshal(resp.Result, &dr); err != nil || dr.SupportedVersions == nil {
			u.setProbe("server/discover "+version, "a result that is not a DiscoverResult: "+transport.ShortBody(resp.Result), eraLegacy, "not a DiscoverResult")
			return fail(&errNotModern{fmt.Errorf("server/discover answered %s", transport.ShortBody(resp.Result))})
		}
		if !slices.Contains(dr.SupportedVersions, version) {
			next := newestModern(dr.SupportedVersions)
			if next == "" {
				if pin != "" {
					return fail(&transport.ConfigError{Err: fmt.Errorf("protocolVersion %s is pinned in the config, and the server supports %v", pin, dr.SupportedVersions)})
				}
				u.setProbe("server/discover "+version, fmt.Sprintf("supportedVersions %v", dr.SupportedVersions), eraLegacy, "no 2026-07-28 version offered")
				return fail(&errNotModern{fmt.Errorf("it supports %v", dr.SupportedVersions)})
			}
			version = next
			sess.setVersion(version)
			conn.SetProtocolVersion(version)
		}
		u.setProbe("server/discover "+version, fmt.Sprintf("DiscoverResult, supportedVersions %v", dr.SupportedVersions), eraModern, "the server answered server/discover")
		sess.discover = resp.Result
		sess.init = initFromDiscover(dr.Capabilities, dr.Meta[metaServerInfo], dr.Instructions, version)
		sess.touch()
		return sess, nil
	}
}

// newestModern picks the newest modern version that both the server
// (supported) and the hub speak, or "".
func newestModern(supported []string) string {
	for _, v := range config.ModernProtocolVersions {
		if slices.Contains(supported, v) {
			return v
		}
	}
	return ""
}

// initFromDiscover shapes a DiscoverResult like an initialize result, so
// that what reads a session's init (the IDEs' initialize answer,
// capabilities, status) serves both eras.
func initFromDiscover(caps map[string]json.RawMessage, serverInfo, instructions json.RawMessage, version string) json.RawMessage {
	out := map[string]any{"protocolVersion": version, "capabilities": caps}
	if caps == nil {
		out["capabilities"] = map[string]any{}
	}
	if serverInfo != nil {
		out["serverInfo"] = serverInfo
	}
	if instructions != nil {
		out["instructions"] = instructions
	}
	b, _ := json.Marshal(out)
	return b
}

// setProbe records the last era probe.
func (u *supervisor) setProbe(sent, answer, era, reason string) {
	u.mu.Lock()
	u.probe = &probe{Sent: sent, Answer: u.scrub(answer), Era: era, Reason: reason, At: time.Now()}
	u.mu.Unlock()
}

// hubParams are the params of a request the hub makes on its own: the
// given fields plus, on a modern session, the _meta the revision requires.
func (u *supervisor) hubParams(s *session, fields map[string]any) json.RawMessage {
	if !s.modern {
		if fields == nil {
			return nil
		}
		b, _ := json.Marshal(fields)
		return b
	}
	p := map[string]any{}
	for k, v := range fields {
		p[k] = v
	}
	p["_meta"] = map[string]any{
		metaProtocolVersion:    s.ver(),
		metaClientCapabilities: map[string]any{},
		metaClientInfo:         u.clientInfo(),
	}
	b, _ := json.Marshal(p)
	return b
}

func (u *supervisor) clientInfo() map[string]string {
	return map[string]string{"name": "mcptray", "title": "mcptray", "version": Version}
}

// paramsFor shapes an IDE's request params for the session it goes out
// on. To a legacy session the modern _meta keys are taken out (a legacy
// server may reject them, or read a version header mismatch into them).
// To a modern one the hub sets the version the session speaks, the
// client capabilities of the IDE the request came from (caps; {} for the
// hub's own), client info (the IDE's own when it gave one) and the log
// level IDEs asked for.
func (u *supervisor) paramsFor(s *session, params json.RawMessage, caps json.RawMessage) json.RawMessage {
	if !s.modern && !hasModernMeta(params) {
		return params
	}
	if s.modern && !bytes.Contains(params, []byte(`"_meta"`)) {
		if out, ok := u.prependMeta(s, params, caps); ok {
			return out
		}
	}
	var p map[string]json.RawMessage
	if len(params) > 0 && json.Unmarshal(params, &p) != nil {
		return params
	}
	if p == nil {
		p = map[string]json.RawMessage{}
	}
	var meta map[string]json.RawMessage
	_ = json.Unmarshal(p["_meta"], &meta)
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	if !s.modern {
		for _, k := range modernMetaKeys {
			delete(meta, k)
		}
	} else {
		meta[metaProtocolVersion], _ = json.Marshal(s.ver())
		if caps == nil {
			caps = json.RawMessage("{}")
		}
		meta[metaClientCapabilities] = caps
		if meta[metaClientInfo] == nil {
			meta[metaClientInfo], _ = json.Marshal(u.clientInfo())
		}
		if lvl := u.router.logLevelValue(); lvl != nil && meta[metaLogLevel] == nil {
			meta[metaLogLevel] = lvl
		}
	}
	if len(meta) == 0 {
		delete(p, "_meta")
	} else {
		p["_meta"], _ = json.Marshal(meta)
	}
	if len(p) == 0 {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return params
	}
	return b
}

// prependMeta is paramsFor's quick way for params without _meta (what a
// legacy IDE sends, mostly): the hub's _meta goes in front of the other
// members, which are not parsed again. ok is false for params that are
// not an object (or absent): the slow way then decides.
func (u *supervisor) prependMeta(s *session, params, caps json.RawMessage) (json.RawMessage, bool) {
	rest := bytes.TrimSpace(params)
	if len(rest) > 0 && (rest[0] != '{' || !json.Valid(rest)) {
		return nil, false
	}
	if caps == nil {
		caps = json.RawMessage("{}")
	}
	var b bytes.Buffer
	b.Grow(len(rest) + len(caps) + 200)
	b.WriteString(`{"_meta":{"` + metaProtocolVersion + `":`)
	v, _ := json.Marshal(s.ver())
	b.Write(v)
	b.WriteString(`,"` + metaClientCapabilities + `":`)
	b.Write(caps)
	b.WriteString(`,"` + metaClientInfo + `":`)
	b.Write(u.clientInfoJSON())
	if lvl := u.router.logLevelValue(); lvl != nil {
		b.WriteString(`,"` + metaLogLevel + `":`)
		b.Write(lvl)
	}
	b.WriteByte('}')
	if len(rest) == 0 {
		b.WriteByte('}')
		return b.Bytes(), true
	}
	inner := bytes.TrimSpace(rest[1:])
	if len(inner) > 0 && inner[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(inner)
	return b.Bytes(), true
}

// clientInfoJSON is clientInfo, encoded once.
func (u *supervisor) clientInfoJSON() []byte {
	clientInfoOnce.Do(func() { clientInfoBytes, _ = json.Marshal(u.clientInfo()) })
	return clientInfoBytes
}

var (
	clientInfoOnce  sync.Once
	clientInfoBytes []byte
)

// hasModernMeta is a cheap check for modern _meta keys in params.
func hasModernMeta(params json.RawMessage) bool {
	return len(params) > 0 && bytes.Contains(params, []byte("io.modelcontextprotocol/"))
}

// modernVersionOf returns the protocol version a request's _meta names
// ("" when none: a legacy request).
func modernVersionOf(params json.RawMessage) string {
	if !hasModernMeta(params) {
		return ""
	}
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	var v string
	_ = json.Unmarshal(p.Meta[metaProtocolVersion], &v)
	return v
}

// metaField returns one _meta key of a request's params.
func metaField(params json.RawMessage, key string) json.RawMessage {
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return nil
	}
	return p.Meta[key]
}

// The era cache: which era a server's endpoint spoke, kept across hub
// restarts in the state dir, so a legacy server is not probed with a
// modern request on every connect. A failure of the cached era's connect
// makes connect probe again.

type eraRecord struct {
	Era       string    `json:"era"`
	Version   string    `json:"version,omitempty"`
	Transport string    `json:"transport,omitempty"`
	At        time.Time `json:"at"`
}

var eraFileMu sync.Mutex

func eraFile(home string) string { return filepath.Join(home, "eras.json") }

// eraKey names an endpoint: the URL without query, fragment or user info.
func eraKey(raw string) string {
	pu, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return pu.Scheme + "://" + pu.Host + pu.Path
}

func (u *supervisor) cachedEra(rawURL string) (eraRecord, bool) {
	if u.home == "" {
		return eraRecord{}, false
	}
	eraFileMu.Lock()
	defer eraFileMu.Unlock()
	m := readEras(u.home)
	rec, ok := m[eraKey(rawURL)]
	return rec, ok
}

func (u *supervisor) rememberEra(rawURL string, rec eraRecord) {
	if u.home == "" {
		return
	}
	eraFileMu.Lock()
	defer eraFileMu.Unlock()
	m := readEras(u.home)
	k := eraKey(rawURL)
	if old, ok := m[k]; ok && old.Era == rec.Era && old.Version == rec.Version && old.Transport == rec.Transport && time.Since(old.At) < time.Hour {
		return
	}
	rec.At = time.Now().UTC().Truncate(time.Second)
	m[k] = rec
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := atomicfile.Write(eraFile(u.home), append(b, '\n'), 0o600); err != nil {
		u.log.Debug("could not save the era cache", "err", err)
	}
}

func readEras(home string) map[string]eraRecord {
	m := map[string]eraRecord{}
	b, err := os.ReadFile(eraFile(home))
	if err == nil {
		_ = json.Unmarshal(b, &m)
	}
	if m == nil {
		m = map[string]eraRecord{}
	}
	return m
}

// listenLoop keeps the modern session's one subscriptions/listen stream
// open: list changes the server's capabilities offer, and the resources
// some IDE subscribed to. A change of the subscribed set (relisten)
// opens a stream with the new filter; the old one stays open until the
// new one is acknowledged and for listenOverlap after. A broken stream is
// reopened after a pause. It ends with the session, and so do its streams.
func (u *supervisor) listenLoop(s *session) {
	conn, ok := s.conn.(*transport.StreamableConn)
	if !ok {
		return
	}
	caps := capabilitiesOf(s.init)
	failures := 0
	// broke is set when the last stream ended without the hub asking
	// (broken, garbled, closed by the server): list changes and resource
	// updates sent while no stream was open are lost, so once the next
	// one is acknowledged the lists are fetched again and a change
	// announced to the IDEs, and every subscribed resource is announced
	// as updated (announceUpdates).
	broke := false
	var replacedCaughtUp atomic.Bool
	// prev is the stream a filter change replaced: it stays open until its
	// successor is acknowledged, so that no notification falls between the
	// two (one that both carry reaches the IDEs twice, which is harmless).
	var prev *listenStream
	stopPrev := func() {
		if prev != nil {
			prev.cancel()
			<-prev.done
			prev = nil
		}
	}
	// retiring are replaced streams kept open for listenOverlap after
	// their successor's acknowledgement: a notification the server was
	// sending to the old stream as the new one was registered (a server
	// picks the streams to send to, then writes) still arrives.
	var retiring []*listenStream
	retirePrev := func() {
		if prev == nil {
			return
		}
		kept := retiring[:0]
		for _, r := range retiring {
			select {
			case <-r.done:
			default:
				kept = append(kept, r)
			}
		}
		retiring = append(kept, prev)
		time.AfterFunc(listenOverlap, prev.cancel)
		prev = nil
	}
	defer func() {
		stopPrev()
		for _, r := range retiring {
			r.cancel()
			<-r.done
		}
	}()
	for s.ctx.Err() == nil {
		_, uris := u.router.sessionState()
		filter := map[string]any{}
		for _, k := range []struct{ cap, key string }{{"tools", "toolsListChanged"}, {"prompts", "promptsListChanged"}, {"resources", "resourcesListChanged"}} {
			if _, ok := caps[k.cap]; ok {
				filter[k.key] = true
			}
		}
		var subURIs []string // the resources this stream carries updates of
		if _, ok := caps["resources"]; ok && len(uris) > 0 {
			slices.Sort(uris)
			filter["resourceSubscriptions"] = uris
			subURIs = uris
		}
		if len(filter) == 0 {
			stopPrev()
			select {
			case <-s.relisten:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		ctx, cancel := context.WithCancel(s.ctx)
		opened := time.Now()
		cur := &listenStream{cancel: cancel, done: make(chan error, 1)}
		done := cur.done
		m := &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "subscriptions/listen", Params: u.hubParams(s, map[string]any{"notifications": filter})}
		var ackedOnce atomic.Bool
		ackCh := make(chan struct{})
		catchUp := broke
		acked := func() {
			if ackedOnce.Swap(true) {
				return
			}
			close(ackCh)
			if catchUp {
				u.bg.Go(func() { u.refreshLists(s, true) })
			}
			// The first acknowledged stream of a session that replaced
			// another catches up on resource updates too (its lists were
			// fetched at install).
			if catchUp || (s.replaces && !replacedCaughtUp.Swap(true)) {
				u.announceUpdates(subURIs)
			}
		}
		go func() { done <- conn.ListenStream(ctx, m, acked) }() // waited for below, or as prev
		var err error
		reopen := false
		// A filter change that comes before this stream is acknowledged
		// waits for the acknowledgement (at most listenAckWait): the server
		// may deliver on the stream already, and the stream it replaces
		// may not carry what this one does, so cancelling it could leave no
		// stream for a subscribed resource.
		var deferred <-chan time.Time
		var deferTimer *time.Timer
	wait:
		for {
			select {
			case <-ackCh:
				retirePrev()
				ackCh = nil
				if deferred != nil {
					reopen = true
					prev = cur
					break wait
				}
			case <-s.relisten:
				if ackedOnce.Load() {
					reopen = true
					retirePrev()
					prev = cur
					break wait
				}
				if deferred == nil {
					deferTimer = time.NewTimer(listenAckWait)
					deferred = deferTimer.C
				}
			case <-deferred:
				// Never acknowledged: give up on it.
				reopen = true
				cur.cancel()
				<-done
				break wait
			case err = <-done:
				break wait
			}
		}
		if deferTimer != nil {
			deferTimer.Stop()
		}
		if reopen {
			failures = 0
			// A catch-up still owed (that stream was not acknowledged)
			// falls to the next stream.
			broke = broke && !ackedOnce.Load()
			continue
		}
		cur.cancel()
		if s.ctx.Err() != nil {
			return
		}
		broke = true
		wasAcked := ackedOnce.Load()
		if wasAcked {
			// The stream worked: a break after that starts the backoff
			// afresh rather than where earlier failures left it.
			failures = 0
		}
		wait := 100 * time.Millisecond
		backoff := transport.Backoff{Base: time.Second, Cap: 30 * time.Second, Jitter: 0.2}
		var re *transport.RefusedError
		switch {
		case err != nil:
			failures++
			wait = backoff.Delay(failures)
			if errors.As(err, &re) {
				u.log.Info("the server refused subscriptions/listen; list changes will not be announced", "err", err)
				wait = 5 * time.Minute
			} else {
				u.log.Debug("subscriptions/listen stream ended; reopening", "err", err, "in", wait)
			}
		case !wasAcked || time.Since(opened) < listenMinLife:
			// Ended gracefully, but before the acknowledgement or at once
			// after it (a server answering the method it does not keep
			// subscriptions for with a plain result): reopening it at once
			// would poll the server.
			failures++
			wait = backoff.Delay(failures)
			u.log.Debug("the server ended subscriptions/listen at once; reopening", "acknowledged", wasAcked, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.relisten:
			t.Stop()
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// listenOverlap is how long a replaced listen stream stays open after its
// successor was acknowledged.
const listenOverlap = time.Second

// listenMinLife is how long an acknowledged listen stream must have been
// open for the server's graceful end of it to be reopened at once.
const listenMinLife = time.Second

// listenAckWait bounds how long a filter change waits for the
// acknowledgement of the stream it replaces.
const listenAckWait = 10 * time.Second

// listenStream is a running subscriptions/listen stream of the hub's.
type listenStream struct {
	cancel context.CancelFunc
	done   chan error
}

// relistenNow asks the current modern session to reopen its listen stream.
func (u *supervisor) relistenNow() {
	if s := u.current(); s != nil && s.modern {
		select {
		case s.relisten <- struct{}{}:
		default:
		}
	}
}

// setMeta sets one _meta key of params, or removes it (v nil), dropping
// a _meta (and params) left empty.
func setMeta(params json.RawMessage, key string, v json.RawMessage) json.RawMessage {
	if v == nil && !bytes.Contains(params, []byte(key)) {
		return params
	}
	p := map[string]json.RawMessage{}
	if len(params) > 0 && json.Unmarshal(params, &p) != nil {
		return params
	}
	meta := map[string]json.RawMessage{}
	if raw, ok := p["_meta"]; ok && json.Unmarshal(raw, &meta) != nil {
		return params
	}
	if v == nil {
		delete(meta, key)
	} else {
		meta[key] = v
	}
	if len(meta) == 0 {
		delete(p, "_meta")
	} else {
		p["_meta"], _ = json.Marshal(meta)
	}
	if len(p) == 0 {
		return nil
	}
	b, _ := json.Marshal(p)
	return b
}
