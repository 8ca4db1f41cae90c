package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// unavailableError is what acquire reports when no session can be had:
// the state the server is in (needs_login, disabled, failed, …) and why;
// unavailableText turns it into words for the IDE.
type unavailableError struct {
	state  State
	reason string
}

func (e *unavailableError) Error() string {
	if e.reason == "" {
		return string(e.state)
	}
	return string(e.state) + ": " + e.reason
}

// errCancelledByClient is the cause when the IDE cancels a request.
var errCancelledByClient = errors.New("cancelled by the client")

// acquire returns the live session, waiting (until deadline) while the
// upstream connects or backs off.
func (u *supervisor) acquire(ctx context.Context, deadline time.Time) (*session, error) {
	u.mu.Lock()
	down, backoff := u.downSince, u.state == StateBackoff
	u.mu.Unlock()
	if backoff && !down.IsZero() && time.Since(down) > u.tuning.HoldTimeout {
		// A long outage, and the last attempt failed: wait only for the
		// retry this request triggers.
		deadline = minTime(deadline, time.Now().Add(u.tuning.OutageHold))
	}
	var timer *time.Timer
	for {
		u.mu.Lock()
		st, s, ch, reason := u.state, u.cur, u.changed, u.lastErr
		u.mu.Unlock()
		switch st {
		case StateConnected:
			if s != nil && !isClosed(s.broken.Done()) && !isClosed(s.conn.Done()) {
				if timer != nil {
					timer.Stop()
				}
				return s, nil
			}
		case StateLoggingIn:
			// A sign-in (e.g. a step-up) may run while the session still
			// works: keep serving from it.
			if s != nil && !isClosed(s.broken.Done()) && !isClosed(s.conn.Done()) {
				if timer != nil {
					timer.Stop()
				}
				return s, nil
			}
			return nil, &unavailableError{state: st, reason: reason}
		case StateNeedsLogin, StateDisabled, StateFailed:
			return nil, &unavailableError{state: st, reason: reason}
		case StateBackoff:
			// Someone needs the server now: try again without waiting out
			// the backoff (at most every requestRetryGap).
			u.retryForRequest()
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-timer.C:
			return nil, &unavailableError{state: st, reason: reason}
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// requestRetryGap bounds connect attempts triggered by IDE requests while
// the server backs off.
const requestRetryGap = 250 * time.Millisecond

func (u *supervisor) retryForRequest() {
	now := time.Now().UnixNano()
	last := u.lastReqRetry.Load()
	if now-last < int64(requestRetryGap) || !u.lastReqRetry.CompareAndSwap(last, now) {
		return
	}
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// unavailableText explains to an IDE user why a request could not be served.
func (u *supervisor) unavailableText(err error) (int, string) {
	if code, text, ok := u.signInText(err); ok {
		return code, text
	}
	var ue *unavailableError
	if !errors.As(err, &ue) {
		return jsonrpc.CodeUpstreamUnavailable, fmt.Sprintf("mcptray: server %q is not reachable: %v", u.name, err)
	}
	switch ue.state {
	case StateLoggingIn:
		return jsonrpc.CodeNeedsLogin, fmt.Sprintf("mcptray: server %q is waiting for you to finish signing in in the browser; try again once you have (or run `mcptray login %s` to start over).", u.name, u.name)
	case StateNeedsLogin:
		if u.maybeAutoLogin() {
			return jsonrpc.CodeNeedsLogin, fmt.Sprintf("mcptray: server %q needs you to sign in; mcptray opened a browser window for it. Finish the sign-in there, then try again (or run `mcptray login %s`).", u.name, u.name)
		}
		return jsonrpc.CodeNeedsLogin, fmt.Sprintf("mcptray: server %q needs you to sign in. Click Sign in for %q in the mcptray tray menu, or run `mcptray login %s`, then try again.", u.name, u.name, u.name)
	case StateDisabled:
		return jsonrpc.CodeServerDisabled, fmt.Sprintf("mcptray: server %q is disabled in the mcptray config; enable it to use it.", u.name)
	case StateFailed:
		return jsonrpc.CodeServerDisabled, fmt.Sprintf("mcptray: server %q cannot connect: %s", u.name, ue.reason)
	}
	msg := fmt.Sprintf("mcptray: server %q is not reachable right now", u.name)
	if ue.reason != "" {
		msg += " (last error: " + ue.reason + ")"
	}
	return jsonrpc.CodeUpstreamUnavailable, msg + "; mcptray keeps retrying. Try again in a moment, or run `mcptray status` to see why."
}

// errorLine is an error response for the IDE, scrubbed of the server's
// secrets: error texts quote the server's own words, and a server may
// echo a request's headers.
func (u *supervisor) errorLine(id json.RawMessage, code int, text string) []byte {
	return jsonrpc.EncodeError(id, code, u.scrub(text), nil)
}

// errRequestTimedOut is the cause when a request outlives requestTimeout.
var errRequestTimedOut = errors.New("request timed out")

// forward sends a downstream request upstream and returns the response line
// for the downstream (its own id restored), or nil when the downstream
// cancelled the request or went away. d is nil for control-API calls.
func (u *supervisor) forward(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	start := time.Now()
	limits := u.limits()
	// The era the IDE speaks in this request, and the client capabilities
	// that go to a modern server with it: the IDE's own.
	modernIDE := config.IsModernVersion(modernVersionOf(m.Params))
	if modernIDE && d != nil {
		if tok := parkToken(m.Params); tok != "" {
			return u.resumeParked(ctx, d, m, tok)
		}
	}
	upID := jsonrpc.IntID(u.nextID.Add(1))
	cctx, cancel := context.WithCancelCause(ctx)
	// handedOff is set when a parked request (mrtr_park.go) takes over
	// what the request holds.
	handedOff := false
	defer func() {
		if !handedOff {
			cancel(nil)
		}
	}()
	// The request's one home: the router indexes it by both ids and its
	// progress token until it is answered.
	c := &call{ds: d, dsID: m.ID, upKey: jsonrpc.IDKey(upID), method: m.Method, cancel: cancel}
	var caps json.RawMessage
	switch {
	case modernIDE:
		caps = metaField(m.Params, metaClientCapabilities)
		if d != nil {
			c.inputs, c.caps = make(chan *pendingInput, 8), caps
		}
	case d != nil:
		caps = d.capsJSON()
	}
	u.router.begin(c)
	defer func() {
		if !handedOff {
			u.router.end(c)
		}
	}()
	params := m.Params
	if d != nil && bytes.Contains(params, []byte(`"progressToken"`)) {
		params = u.mapProgressToken(c, params)
	}
	req := &jsonrpc.Message{JSONRPC: "2.0", ID: upID, Method: m.Method, Params: params}
	// The whole request, held or queued time included, is bounded; the
	// IDE's notifications/cancelled ends it sooner.
	timeout := time.Duration(limits.RequestTimeout) * time.Second
	timer := time.AfterFunc(timeout, func() { cancel(errRequestTimedOut) })
	defer func() {
		if !handedOff {
			timer.Stop()
		}
	}()
	timedOut := func() []byte {
		return u.errorLine(m.ID, jsonrpc.CodeRequestTimeout, fmt.Sprintf("mcptray: server %q did not answer %s within %s (requestTimeout in the mcptray config); mcptray cancelled it", u.name, m.Method, timeout))
	}
	var owner any
	if d != nil {
		owner = d
	}

	deadline := start.Add(u.tuning.HoldTimeout)
	var tries retries
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// A retry is a new request to the server: it may have seen the
			// first (on this very session, when it was kept), and MCP
			// forbids reusing an id.
			upID = jsonrpc.IntID(u.nextID.Add(1))
			req.ID = upID
			u.router.rekey(c, jsonrpc.IDKey(upID))
		}
		s, err := u.acquireSignedIn(cctx, c, &deadline, &tries.signIn)
		if err != nil {
			if cctx.Err() != nil {
				if errors.Is(context.Cause(cctx), errRequestTimedOut) {
					return timedOut()
				}
				return nil
			}
			code, text := u.unavailableText(err)
			return u.errorLine(m.ID, code, text)
		}
		u.router.setSession(c, s)
		cacheKey, cacheable := "", false
		if s.modern {
			if cacheKey, cacheable = listCacheKey(m.Method, params); cacheable {
				if r := u.lists.get(s, cacheKey); r != nil {
					result, _ := shapeForIDE(m.Method, r, nil, modernIDE, true)
					return jsonrpc.EncodeResponse(m.ID, result, nil)
				}
			}
		}
		req.Params = u.paramsFor(s, params, caps)
		// At most maxInFlight requests to the server at once, taken in
		// turn across IDEs.
		if err := u.sem.acquire(cctx, owner); err != nil {
			if errors.Is(context.Cause(cctx), errRequestTimedOut) {
				return timedOut()
			}
			return nil
		}
		resp, parkedLine, parked, err := u.send(cctx, s, c, req, params, func() {
			u.sem.release()
			timer.Stop()
			u.router.end(c)
			cancel(nil)
		}, timedOut)
		if parked {
			handedOff = true
			return parkedLine
		}
		u.sem.release()
		cause := context.Cause(cctx)
		if errors.Is(cause, errCancelledByClient) {
			return nil // the IDE ignores answers to what it cancelled
		}
		if err == nil {
			s.touch()
			s.served.Store(true)
			line, next, again := u.answered(cctx, s, d, c, m, params, resp, modernIDE, &tries, cacheKey, cacheable)
			if !again {
				return line
			}
			params = next
			continue
		}
		if cctx.Err() != nil {
			if errors.Is(cause, errRequestTimedOut) {
				key := jsonrpc.IDKey(upID)
				u.bg.Go(func() { u.cancelUpstream(s, key, "timed out in mcptray") })
				return timedOut()
			}
			// The IDE went away mid-call: tell the upstream, as it would have.
			key := jsonrpc.IDKey(upID)
			u.bg.Go(func() { u.cancelUpstream(s, key, "the IDE disconnected") })
			return nil
		}
		line, again := u.afterFailure(cctx, s, m, err, &tries, deadline)
		if !again {
			return line
		}
	}
}

// send sends req on s. For a modern IDE's request on a legacy session the
// server may ask for input while it runs: then the IDE is answered with
// input_required (parkedLine), and the request parks, release and the
// call's goroutine handed over to the parking place (mrtr_park.go).
func (u *supervisor) send(ctx context.Context, s *session, c *call, req *jsonrpc.Message, params json.RawMessage, release func(), timedOut func() []byte) (resp *jsonrpc.Message, parkedLine []byte, isParked bool, err error) {
	if c.inputs == nil || s.modern {
		if s.modern && req.Method == "tools/call" {
			ctx = transport.WithHeaders(ctx, u.paramHeadersFor(params))
		}
		resp, err = s.conn.Call(ctx, req)
		return resp, nil, false, err
	}
	done := make(chan callResult, 1)
	go func() { // owned here, or by the parking place
		r, err := s.conn.Call(ctx, req)
		done <- callResult{r, err}
	}()
	select {
	case r := <-done:
		return r.resp, nil, false, r.err
	case pi := <-c.inputs:
		p := &parked{d: c.ds, c: c, method: req.Method, done: done, cctx: ctx, timeout: timedOut, release: release}
		return nil, u.park(p, c.dsID, pi), true, nil
	}
}

// answered decides what an answer from s means: the IDE's line, or again
// with the params to send next (a modern server that named another
// version, asked for input a legacy IDE gives as server requests, or
// found the call's Mcp-Param headers stale).
func (u *supervisor) answered(ctx context.Context, s *session, d *downstream, c *call, m *jsonrpc.Message, params json.RawMessage, resp *jsonrpc.Message, modernIDE bool, tries *retries, cacheKey string, cacheable bool) (line []byte, next json.RawMessage, again bool) {
	if s.modern {
		if v := versionToRetry(s, resp.Error); v != "" && tries.version == 0 {
			tries.version++
			s.setVersion(v)
			return nil, params, true
		}
		if !modernIDE && resultType(resp.Result) == "input_required" {
			// Multi round-trip: the IDE answers the server's input
			// requests as server requests of its era, and the hub
			// re-issues the request with the answers.
			next, line := u.fulfilInputs(ctx, d, c, m, params, resp.Result, tries)
			if line != nil || next == nil {
				return line, nil, false
			}
			return nil, next, true
		}
		if m.Method == "tools/list" && resp.Error == nil {
			resp.Result = u.learnTools(resp.Result)
		}
		if m.Method == "tools/call" && tries.header == 0 && errorCode(resp.Error) == jsonrpc.CodeHeaderMismatch {
			// The tool's annotations may have changed: learn them
			// again, then send the call once more.
			tries.header++
			u.relearnTools(ctx, s)
			return nil, params, true
		}
	}
	if cacheable && resp.Error == nil {
		u.lists.put(s, cacheKey, resp.Result)
	}
	// A server that echoes a request's headers in its error would show
	// them to the IDE: scrub the error (results pass as sent).
	result, errObj := shapeForIDE(m.Method, resp.Result, u.scrubJSON(resp.Error), modernIDE, s.modern)
	if modernIDE && !s.modern && errObj != nil && m.Method == "resources/read" {
		errObj = withRequestedURI(errObj, m.Params)
	}
	return jsonrpc.EncodeResponse(m.ID, result, errObj), nil, false
}

// withRequestedURI gives a 2026-07-28 "resource not found" (-32602) for a
// resources/read the URI asked for in its data, as the revision says a
// server should, when the legacy server's error did not carry one.
func withRequestedURI(errObj, params json.RawMessage) json.RawMessage {
	var e struct {
		Code int             `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(errObj, &e) != nil || e.Code != jsonrpc.CodeInvalidParams {
		return errObj
	}
	var p struct {
		URI string `json:"uri"`
	}
	if json.Unmarshal(params, &p) != nil || p.URI == "" {
		return errObj
	}
	var data map[string]json.RawMessage
	switch {
	case len(e.Data) == 0 || string(e.Data) == "null":
		data = map[string]json.RawMessage{}
	case json.Unmarshal(e.Data, &data) != nil:
		return errObj // data that is not an object stays as the server sent it
	}
	if _, ok := data["uri"]; ok {
		return errObj
	}
	data["uri"], _ = json.Marshal(p.URI)
	d, _ := json.Marshal(data)
	return setField(errObj, "data", d)
}

// sessionBroken reports errors that show the session itself is unusable.
func sessionBroken(s *session, err error) bool {
	var se *transport.StreamError
	if s.modern {
		// A modern session has no state a broken stream could lose.
		return isClosed(s.conn.Done()) || isClosed(s.broken.Done())
	}
	return errors.As(err, &se) || errors.Is(err, transport.ErrConnClosed) || isClosed(s.conn.Done()) || isClosed(s.broken.Done())
}

// sessionCheckFresh is how long a good health check vouches for a session.
const sessionCheckFresh = time.Second

// checkSession pings s once for every request that failed on it at about
// the same time (single flight), and remembers a good answer briefly.
func (u *supervisor) checkSession(s *session) error {
	s.checkMu.Lock()
	if time.Since(s.checkedOK) < sessionCheckFresh {
		s.checkMu.Unlock()
		return nil
	}
	if s.checking != nil {
		ch := s.checking
		s.checkMu.Unlock()
		<-ch
		s.checkMu.Lock()
		err := s.checkErr
		s.checkMu.Unlock()
		return err
	}
	ch := make(chan struct{})
	s.checking = ch
	s.checkMu.Unlock()
	err := u.ping(s)
	s.checkMu.Lock()
	s.checking, s.checkErr = nil, err
	if err == nil {
		s.checkedOK = time.Now()
	}
	s.checkMu.Unlock()
	close(ch)
	return err
}

// pauseBeforeRetry waits a little before a request is sent again on a
// session that is still up (a server's Retry-After, capped; else a short
// step), and not at all when the session is being rebuilt: acquire waits
// for that.
func (u *supervisor) pauseBeforeRetry(ctx context.Context, s *session, err error, attempt int) {
	if isClosed(s.broken.Done()) {
		return
	}
	wait := time.Duration(attempt) * 100 * time.Millisecond
	var se *transport.StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		wait = min(se.RetryAfter, 2*time.Second)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// retries counts a request's retries by cause.
type retries struct {
	session, lost, auth, version, rounds, header int
	signIn                                       signInHold // waits for a sign-in (signin_hold.go)
}

// afterFailure decides what a failed Call means for the request: an error
// line for the IDE, or again to send it once more (on this session, or
// on the one the supervisor builds after s was failed).
func (u *supervisor) afterFailure(ctx context.Context, s *session, m *jsonrpc.Message, err error, tries *retries, deadline time.Time) (line []byte, again bool) {
	if tl, ok := transport.IsTooLarge(err); ok {
		// The answer is lost, the session is not.
		return u.errorLine(m.ID, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("mcptray: server %q answered %s with a message larger than the %s limit (maxMessageSize in the mcptray config); the answer was dropped", u.name, m.Method, jsonrpc.FormatSize(tl.Limit))), false
	}
	var sessErr *transport.SessionError
	var authErr *transport.AuthError
	var statusErr *transport.StatusError
	switch {
	case errors.As(err, &sessErr):
		if sessErr.Status == 400 && u.checkSession(s) == nil {
			// The session is alive: the 400 is about this request.
			return u.errorLine(m.ID, jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: server %q rejected the request: %v", u.name, err)), false
		}
		s.fail(err)
		if tries.session == 0 {
			tries.session++
			u.log.Info("session rejected; retrying on a new session", "method", m.Method, "status", sessErr.Status)
			return nil, true
		}
		return u.errorLine(m.ID, jsonrpc.CodeUpstreamUnavailable, fmt.Sprintf("mcptray: server %q rejected %s on a fresh session too: %v", u.name, m.Method, err)), false
	case errors.As(err, &authErr) && authErr.Status == 401:
		// The token was refused mid-session: the rebuild refreshes it
		// (or finds that a sign-in is needed); retry once on it.
		u.mu.Lock()
		u.auth.challenge = authErr.WWWAuthenticate // scope and resource_metadata for a sign-in
		u.mu.Unlock()
		u.dropCachedToken()
		s.fail(err)
		if tries.auth == 0 {
			tries.auth++
			return nil, true
		}
		// Refused after the refresh too: the request waits for a sign-in.
		tries.signIn.need = u.newSignInNeed(&unavailableError{state: StateNeedsLogin})
		return nil, true
	case errors.As(err, &authErr) && insufficientScope(authErr):
		need := u.newSignInNeed(err) // before the sign-in starts
		if u.stepUp(authErr) {
			// The request waits for the step-up sign-in.
			tries.signIn.need = need
			return nil, true
		}
		return u.errorLine(m.ID, jsonrpc.CodeNeedsLogin, fmt.Sprintf("mcptray: server %q refused %s for lack of permissions (insufficient_scope), and repeated sign-ins did not grant them. Check your account's access, then run `mcptray login %s`.", u.name, m.Method, u.name)), false
	case errors.As(err, &authErr):
		return u.errorLine(m.ID, jsonrpc.CodeInvalidRequest, fmt.Sprintf("mcptray: server %q refused %s: %v", u.name, m.Method, err)), false
	case errors.As(err, &statusErr) && !statusErr.Temporary():
		return u.errorLine(m.ID, jsonrpc.CodeInternalError, fmt.Sprintf("mcptray: server %q failed %s: %v", u.name, m.Method, err)), false
	}
	if s.modern {
		var se *transport.StreamError
		if (errors.As(err, &se) || errors.Is(err, transport.ErrConnClosed)) && tries.lost < 3 && time.Now().Before(deadline) {
			// 2026-07-28: a broken response stream loses the request, and
			// the client must re-issue it under a new id. A stream the hub
			// itself cut (a reconnect tore the session down) is no
			// different: there is no session whose state the request
			// could depend on.
			tries.lost++
			u.log.Info("response stream broke; re-issuing the request", "method", m.Method, "err", err)
			return nil, true
		}
	}
	// The request failed. Only the session itself can say that it
	// broke (a broken or garbled stream, a closed connection); a
	// request's own network error or 5xx is checked with a ping
	// first, so one reset in a burst does not tear down the session
	// every IDE shares.
	if sessionBroken(s, err) || u.checkSession(s) != nil {
		s.fail(err)
	}
	if (idempotent(m.Method) || transport.NotSent(err)) && tries.lost < 3 && time.Now().Before(deadline) {
		tries.lost++
		u.log.Info("request failed; retrying", "method", m.Method, "err", err)
		u.pauseBeforeRetry(ctx, s, err, tries.lost) // an ended ctx: acquire says so
		return nil, true
	}
	if !idempotent(m.Method) && !transport.NotSent(err) {
		return u.errorLine(m.ID, jsonrpc.CodeLostInFlight, fmt.Sprintf("mcptray: the connection to server %q broke while %s was running (%v). It may or may not have completed; mcptray is reconnecting, so check and retry if needed.", u.name, m.Method, err)), false
	}
	code, text := u.unavailableText(&unavailableError{state: StateBackoff, reason: describe(err)})
	return u.errorLine(m.ID, code, text), false
}
