package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// admissionEnv is what an admission row's setup and supervisor see.
type admissionEnv struct {
	t      *testing.T
	u      *supervisor
	script *connScript
	kicks  atomic.Int32 // kicks the stand-in supervisor took
	cancel context.CancelFunc

	mu  sync.Mutex
	cur *session // the session installed last
}

// install puts a fresh session in place, as the supervisor does after a
// connect.
func (e *admissionEnv) install() *session {
	s := newScriptedSession(e.script)
	e.mu.Lock()
	e.cur = s
	e.mu.Unlock()
	e.u.install(s)
	return s
}

// backoff is a supervisor in backoff: it waits out d or a kick (an IDE
// request cutting the backoff short), then connects with result connect.
func (e *admissionEnv) backoff(d time.Duration, connect func()) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.u.kick:
		e.kicks.Add(1)
	case <-t.C:
	}
	e.u.setState(StateConnecting, "", time.Time{})
	connect()
}

// rebuild is the supervisor noticing a failed session after 1 s: it
// tears it down, connects (1 s) and installs a new one.
func rebuild(e *admissionEnv) {
	time.Sleep(time.Second)
	e.mu.Lock()
	s := e.cur
	e.mu.Unlock()
	e.u.uninstall(s, errors.New("session broke"))
	e.u.setState(StateConnecting, "rebuilding", time.Time{})
	time.Sleep(time.Second)
	e.install()
}

// TestAdmission: what becomes of a request that arrives while the server
// has no usable session — it waits and is sent once one is installed, or
// is answered at once, or when its hold ends — and exactly when (synctest's
// fake clock: HoldTimeout 10s, OutageHold 2s).
func TestAdmission(t *testing.T) {
	const hold, outage = 10 * time.Second, 2 * time.Second
	rows := []struct {
		name   string
		limits config.Limits
		// setup runs before the requests, and may sleep (fake time).
		setup func(e *admissionEnv)
		// supervisor runs beside the requests from their start; it must
		// end by itself.
		supervisor func(e *admissionEnv)
		requests   int // sent at once (default 1)

		wantCode   int           // the error code answered; 0: a result; -1: no answer (nil)
		wantText   string        // in the error's message
		wantAfter  time.Duration // when the answers come
		wantCalls  int           // requests sent upstream, all told
		wantKicks  int32         // early retries the requests triggered
		wantOnConn int           // the conn that served them (1 = the first built)
	}{
		{
			name: "connecting, then connected",
			supervisor: func(e *admissionEnv) {
				time.Sleep(3 * time.Second)
				if n := e.script.count("tools/list"); n != 0 {
					e.t.Errorf("%d requests sent before a session was installed", n)
				}
				e.install()
			},
			wantAfter: 3 * time.Second, wantCalls: 1, wantOnConn: 1,
		},
		{
			name:     "connecting, three requests, then connected",
			requests: 3,
			supervisor: func(e *admissionEnv) {
				time.Sleep(3 * time.Second)
				e.install()
			},
			wantAfter: 3 * time.Second, wantCalls: 3, wantOnConn: 1,
		},
		{
			// Between a failure and the rebuild the state may still say
			// connected: the broken session is not used.
			name: "connected on a failed session, then rebuilt",
			setup: func(e *admissionEnv) {
				s := e.install()
				s.broken.Fail(errors.New("stream broke"))
			},
			supervisor: rebuild,
			wantAfter:  2 * time.Second, wantCalls: 1, wantOnConn: 2,
		},
		{
			name: "connected on a closed conn, then rebuilt",
			setup: func(e *admissionEnv) {
				s := e.install()
				s.conn.Close()
			},
			supervisor: rebuild,
			wantAfter:  2 * time.Second, wantCalls: 1, wantOnConn: 2,
		},
		{
			// A request in backoff kicks the supervisor: the retry comes
			// now, not when the 20 s backoff would have ended.
			name: "backoff, the request triggers an early retry",
			setup: func(e *admissionEnv) {
				e.u.setState(StateBackoff, "connection refused", time.Now().Add(20*time.Second))
			},
			supervisor: func(e *admissionEnv) {
				e.backoff(20*time.Second, func() { e.install() })
			},
			wantAfter: 0, wantCalls: 1, wantKicks: 1, wantOnConn: 1,
		},
		{
			// A fresh outage, the retry fails too: the request is held for
			// HoldTimeout in case the server comes back.
			name: "backoff, fresh outage, server stays down",
			setup: func(e *admissionEnv) {
				e.u.setState(StateBackoff, "connection refused", time.Now().Add(20*time.Second))
			},
			supervisor: func(e *admissionEnv) {
				e.backoff(20*time.Second, func() {
					e.u.setState(StateBackoff, "connection refused again", time.Now().Add(30*time.Second))
				})
			},
			wantCode: jsonrpc.CodeUpstreamUnavailable, wantText: "connection refused again",
			wantAfter: hold, wantKicks: 1,
		},
		{
			// Down for longer than HoldTimeout: the request waits only for
			// the retry it triggers (OutageHold), then gets the reason.
			name: "backoff, long outage, server stays down",
			setup: func(e *admissionEnv) {
				e.u.setState(StateBackoff, "connection refused", time.Now().Add(time.Minute))
				time.Sleep(hold + time.Second)
				e.u.setState(StateBackoff, "connection refused", time.Now().Add(time.Minute))
			},
			supervisor: func(e *admissionEnv) {
				e.backoff(time.Minute, func() {
					e.u.setState(StateBackoff, "connection refused again", time.Now().Add(time.Minute))
				})
			},
			wantCode: jsonrpc.CodeUpstreamUnavailable, wantText: "connection refused again",
			wantAfter: outage, wantKicks: 1,
		},
		{
			name: "backoff, long outage, server back",
			setup: func(e *admissionEnv) {
				e.u.setState(StateBackoff, "connection refused", time.Now().Add(time.Minute))
				time.Sleep(hold + time.Second)
			},
			supervisor: func(e *admissionEnv) {
				e.backoff(time.Minute, func() {
					time.Sleep(time.Second) // connect + initialize
					e.install()
				})
			},
			wantAfter: time.Second, wantCalls: 1, wantKicks: 1, wantOnConn: 1,
		},
		{
			name:      "connecting, nobody comes: the hold ends",
			wantCode:  jsonrpc.CodeUpstreamUnavailable,
			wantText:  "not reachable right now",
			wantAfter: hold,
		},
		{
			// requestTimeout, shorter than the hold, bounds the held time.
			name:      "connecting, request timeout",
			limits:    config.Limits{RequestTimeout: 4},
			wantCode:  jsonrpc.CodeRequestTimeout,
			wantText:  "did not answer tools/list within 4s",
			wantAfter: 4 * time.Second,
		},
		{
			// The IDE cancels while held: no answer, nothing sent.
			name: "connecting, the IDE cancels",
			supervisor: func(e *admissionEnv) {
				time.Sleep(time.Second)
				e.cancel()
			},
			wantCode: -1, wantAfter: time.Second,
		},
		{
			name: "connecting, then needs_login",
			supervisor: func(e *admissionEnv) {
				time.Sleep(time.Second)
				e.u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "needs you to sign in", wantAfter: time.Second,
		},
		{
			name: "connecting, then disabled",
			supervisor: func(e *admissionEnv) {
				time.Sleep(time.Second)
				e.u.setState(StateDisabled, "disabled in the config", time.Time{})
			},
			wantCode: jsonrpc.CodeServerDisabled, wantText: "is disabled", wantAfter: time.Second,
		},
		{
			name: "needs_login",
			setup: func(e *admissionEnv) {
				e.u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "mcptray login srv",
		},
		{
			name: "needs_login after a session",
			setup: func(e *admissionEnv) {
				s := e.install()
				e.u.uninstall(s, errors.New("401"))
				e.u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "mcptray login srv",
		},
		{
			name: "disabled",
			setup: func(e *admissionEnv) {
				e.u.setState(StateDisabled, "disabled in the config", time.Time{})
			},
			wantCode: jsonrpc.CodeServerDisabled, wantText: "is disabled",
		},
		{
			name: "failed",
			setup: func(e *admissionEnv) {
				e.u.setState(StateFailed, "bad config: no url; fix the config file", time.Time{})
			},
			wantCode: jsonrpc.CodeServerDisabled, wantText: "bad config: no url",
		},
		{
			// The request waits for the sign-in under way (signInWait,
			// default 2 minutes; signin_hold_internal_test.go has the rest).
			name: "logging in, no session",
			setup: func(e *admissionEnv) {
				e.u.setState(StateLoggingIn, "", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "waited 2m0s (signInWait", wantAfter: 2 * time.Minute,
		},
		{
			// A step-up sign-in while the session works: keep serving.
			name: "logging in on a live session",
			setup: func(e *admissionEnv) {
				e.install()
				e.u.setState(StateLoggingIn, "", time.Time{})
			},
			wantCalls: 1, wantOnConn: 1,
		},
		{
			name:      "connected",
			setup:     func(e *admissionEnv) { e.install() },
			wantCalls: 1, wantOnConn: 1,
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := &admissionEnv{
					t:      t,
					u:      newTestUpstream(Tuning{HoldTimeout: hold, OutageHold: outage}, row.limits),
					script: newConnScript(nil),
				}
				if row.setup != nil {
					row.setup(e)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				e.cancel = cancel
				var wg sync.WaitGroup
				if row.supervisor != nil {
					wg.Go(func() { row.supervisor(e) })
				}
				n := max(row.requests, 1)
				start := time.Now()
				lines := make([][]byte, n)
				after := make([]time.Duration, n)
				var reqs sync.WaitGroup
				for i := range n {
					reqs.Go(func() {
						lines[i] = e.u.forward(ctx, nil, request("tools/list"))
						after[i] = time.Since(start)
					})
				}
				reqs.Wait()
				wg.Wait()
				for i, line := range lines {
					if after[i] != row.wantAfter {
						t.Errorf("request %d answered after %s, want %s", i, after[i], row.wantAfter)
					}
					if row.wantCode == -1 {
						if line != nil {
							t.Errorf("request %d answered %s, want no answer", i, line)
						}
						continue
					}
					code, msg := answerCode(t, line)
					if code != row.wantCode || !strings.Contains(msg, row.wantText) {
						t.Errorf("request %d answered %s, want code %d with %q", i, line, row.wantCode, row.wantText)
					}
					if code == 0 && !strings.Contains(string(line), fmt.Sprintf(`"answeredBy":%d`, row.wantOnConn)) {
						t.Errorf("request %d answered %s, want it served by conn %d", i, line, row.wantOnConn)
					}
				}
				if got := e.script.count("tools/list"); got != row.wantCalls {
					t.Errorf("%d requests sent upstream, want %d", got, row.wantCalls)
				}
				if got := e.kicks.Load(); got != row.wantKicks {
					t.Errorf("%d early retries, want %d", got, row.wantKicks)
				}
				// Leave nothing running: close the session (synctest.Test
				// waits for what install started).
				e.mu.Lock()
				s := e.cur
				e.mu.Unlock()
				if s != nil {
					e.u.uninstall(s, context.Canceled)
				}
			})
		})
	}
}
