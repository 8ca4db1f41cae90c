package mcpclient

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// retryOutcome is what forward did with one request.
type retryOutcome struct {
	calls int           // calls of the method made upstream
	fails int           // sessions failed (their broken channel closed)
	code  int           // the JSON-RPC error code answered; 0: a result
	gap   time.Duration // between the first and the second call (when calls ≥ 2)
}

// TestRetryMatrix: for each way a call can fail upstream, and for an
// idempotent method (tools/list) and one that may have run (tools/call),
// how often forward sends the request, whether it fails the session (so
// the supervisor rebuilds it), what the IDE is answered, and how long it
// pauses before a retry. Each row is run twice: the failure happens once
// (the next call succeeds: once fails, later succeeds), and every time.
// The session answers a ping unless pingFails; a stand-in supervisor
// installs a new session whenever the current one is failed. Time is
// synctest's fake clock, so Retry-After pauses cost nothing.
func TestRetryMatrix(t *testing.T) {
	reset := func() error { return &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET} }
	rows := []struct {
		name      string
		err       func() error
		pingFails bool
		// list/call: the first call fails, the rest succeed.
		list, call retryOutcome
		// listAll/callAll: every call fails.
		listAll, callAll retryOutcome
	}{
		{
			name: "success",
			err:  func() error { return nil },
			list: retryOutcome{calls: 1}, call: retryOutcome{calls: 1},
			listAll: retryOutcome{calls: 1}, callAll: retryOutcome{calls: 1},
		},
		{
			// A broken stream breaks the session: reads are retried on
			// a new one; a tools/call may have run and is not.
			name: "stream broke",
			err:  func() error { return &transport.StreamError{Err: fmt.Errorf("unexpected EOF")} },
			list: retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, fails: 4, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			name: "stream garbage",
			err:  func() error { return &transport.StreamError{Err: fmt.Errorf("not JSON"), Garbage: true} },
			list: retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, fails: 4, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			// The server forgot the session: nothing ran, any method is
			// retried once on a new session.
			name: "session 404",
			err:  func() error { return &transport.SessionError{Status: 404} },
			list: retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 2, fails: 1},
			listAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			// A 400 on a session that still answers a ping is about the
			// request: answered, the session kept.
			name: "session 400, session alive",
			err:  func() error { return &transport.SessionError{Status: 400, Body: "bad params"} },
			list: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest}, call: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest},
			listAll: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest},
		},
		{
			// server-everything after a restart: 400, and no ping answers.
			name:      "session 400, session gone",
			err:       func() error { return &transport.SessionError{Status: 400} },
			pingFails: true,
			list:      retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 2, fails: 1},
			listAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			// 503: not run; retried on the same session after a step, up
			// to three times.
			name: "503",
			err:  func() error { return &transport.StatusError{Status: 503} },
			list: retryOutcome{calls: 2, gap: 100 * time.Millisecond}, call: retryOutcome{calls: 2, gap: 100 * time.Millisecond},
			listAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			name: "429, Retry-After 1s",
			err:  func() error { return &transport.StatusError{Status: 429, RetryAfter: time.Second} },
			list: retryOutcome{calls: 2, gap: time.Second}, call: retryOutcome{calls: 2, gap: time.Second},
			listAll: retryOutcome{calls: 4, gap: time.Second, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 4, gap: time.Second, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			// A Retry-After is honoured up to 2 s.
			name: "429, Retry-After 60s",
			err:  func() error { return &transport.StatusError{Status: 429, RetryAfter: time.Minute} },
			list: retryOutcome{calls: 2, gap: 2 * time.Second}, call: retryOutcome{calls: 2, gap: 2 * time.Second},
			listAll: retryOutcome{calls: 4, gap: 2 * time.Second, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 4, gap: 2 * time.Second, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			// 500: the request may have run. The session answers a ping,
			// so it is kept.
			name: "500",
			err:  func() error { return &transport.StatusError{Status: 500} },
			list: retryOutcome{calls: 2, gap: 100 * time.Millisecond}, call: retryOutcome{calls: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			name: "422",
			err:  func() error { return &transport.StatusError{Status: 422} },
			list: retryOutcome{calls: 1, code: jsonrpc.CodeInternalError}, call: retryOutcome{calls: 1, code: jsonrpc.CodeInternalError},
			listAll: retryOutcome{calls: 1, code: jsonrpc.CodeInternalError}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeInternalError},
		},
		{
			// A refused token: rebuild (which refreshes it) and retry
			// once; then the IDE is told to sign in.
			name: "401",
			err:  func() error { return &transport.AuthError{Status: 401, WWWAuthenticate: `Bearer realm="x"`} },
			list: retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 2, fails: 1},
			listAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeNeedsLogin}, callAll: retryOutcome{calls: 2, fails: 2, code: jsonrpc.CodeNeedsLogin},
		},
		{
			name: "403",
			err:  func() error { return &transport.AuthError{Status: 403} },
			list: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest}, call: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest},
			listAll: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeInvalidRequest},
		},
		{
			// More scopes needed (no OAuth here, so no step-up): sign in.
			name: "403 insufficient_scope",
			err: func() error {
				return &transport.AuthError{Status: 403, WWWAuthenticate: `Bearer error="insufficient_scope", scope="files:write"`}
			},
			list: retryOutcome{calls: 1, code: jsonrpc.CodeNeedsLogin}, call: retryOutcome{calls: 1, code: jsonrpc.CodeNeedsLogin},
			listAll: retryOutcome{calls: 1, code: jsonrpc.CodeNeedsLogin}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeNeedsLogin},
		},
		{
			name: "conn closed",
			err:  func() error { return transport.ErrConnClosed },
			list: retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, fails: 4, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			// One reset in a burst, on a session that answers a ping:
			// kept (one bad request is not a broken session).
			name: "reset, session alive",
			err:  reset,
			list: retryOutcome{calls: 2, gap: 100 * time.Millisecond}, call: retryOutcome{calls: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			// A reset, and the ping fails too: the session is rebuilt and
			// the read retried on the new one at once.
			name:      "reset, session dead",
			err:       reset,
			pingFails: true,
			list:      retryOutcome{calls: 2, fails: 1}, call: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
			listAll: retryOutcome{calls: 4, fails: 4, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 1, fails: 1, code: jsonrpc.CodeLostInFlight},
		},
		{
			// Could not connect: certainly not sent, so a tools/call is
			// retried too.
			name: "dial refused",
			err:  func() error { return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED} },
			list: retryOutcome{calls: 2, gap: 100 * time.Millisecond}, call: retryOutcome{calls: 2, gap: 100 * time.Millisecond},
			listAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable}, callAll: retryOutcome{calls: 4, gap: 100 * time.Millisecond, code: jsonrpc.CodeUpstreamUnavailable},
		},
		{
			// The answer is lost, the session is not; no retry.
			name: "answer too large",
			err: func() error {
				return &jsonrpc.TooLargeError{Limit: 1 << 20, Prefix: []byte(`{"jsonrpc":"2.0","id":1,`)}
			},
			list: retryOutcome{calls: 1, code: jsonrpc.CodeMessageTooLarge}, call: retryOutcome{calls: 1, code: jsonrpc.CodeMessageTooLarge},
			listAll: retryOutcome{calls: 1, code: jsonrpc.CodeMessageTooLarge}, callAll: retryOutcome{calls: 1, code: jsonrpc.CodeMessageTooLarge},
		},
	}
	for _, row := range rows {
		for _, c := range []struct {
			method string
			always bool
			want   retryOutcome
		}{
			{"tools/list", false, row.list},
			{"tools/call", false, row.call},
			{"tools/list", true, row.listAll},
			{"tools/call", true, row.callAll},
		} {
			name := fmt.Sprintf("%s/%s/once", row.name, c.method)
			if c.always {
				name = fmt.Sprintf("%s/%s/always", row.name, c.method)
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					script := newConnScript(func(method string, n int) (*jsonrpc.Message, error) {
						switch {
						case method == "ping" && row.pingFails:
							return nil, reset()
						case method != c.method:
							return nil, nil
						case n == 0 || c.always:
							return nil, row.err()
						}
						return nil, nil
					})
					got, _ := runForward(t, script, Tuning{}, config.Limits{}, c.method)
					if got.calls < 2 || c.want.calls < 2 {
						got.gap = c.want.gap // not measured
					}
					if got != c.want {
						t.Errorf("got %+v, want %+v", got, c.want)
					}
				})
			})
		}
	}
}

// runForward forwards one request of method on an upstream whose
// sessions follow script, with a stand-in supervisor that rebuilds failed
// sessions; it reports what happened and the answer's text. It runs in a
// synctest bubble and leaves no goroutine behind.
func runForward(t *testing.T, script *connScript, tuning Tuning, limits config.Limits, method string) (retryOutcome, string) {
	t.Helper()
	u := newTestUpstream(tuning, limits)
	r := &rebuilder{u: u, script: script}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.run(ctx) })
	synctest.Wait() // the first session is installed

	line := u.forward(context.Background(), nil, request(method))
	synctest.Wait() // the supervisor has rebuilt what the request failed
	var got retryOutcome
	got.calls = script.count(method)
	got.fails = r.failed()
	if n := script.reusedIDs(); n > 0 {
		t.Errorf("%d retries went out under an id already sent (MCP forbids reusing one)", n)
	}
	var msg string
	got.code, msg = answerCode(t, line)
	if ts := script.times(method); len(ts) >= 2 {
		got.gap = ts[1].Sub(ts[0])
	}
	cancel()
	wg.Wait() // synctest.Test waits for what install started
	return got, msg
}
