package mcpclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestSignInHold: a request that arrives while the server's sign-in runs
// (state logging_in, no session) is held until the sign-in ends and the
// session is back, then sent; it fails only when signInWait passes, the
// sign-in is refused or fails, the server still needs a sign-in after it,
// or the IDE cancels. The test plays the supervisor and the sign-in
// (signInEnded is what Login calls); synctest's clock says when.
func TestSignInHold(t *testing.T) {
	declined := &auth.AuthorizationError{Code: "access_denied"}
	rows := []struct {
		name   string
		limits config.Limits
		// signIn plays the sign-in and the supervisor beside the request.
		signIn   func(e *admissionEnv)
		requests int

		wantCode  int // 0: a result; -1: no answer
		wantText  string
		wantAfter time.Duration
		wantCalls int
	}{
		{
			name: "signed in midway, then the session is rebuilt",
			signIn: func(e *admissionEnv) {
				time.Sleep(40 * time.Second)
				e.u.signInEnded(nil)
				e.u.setState(StateConnecting, "signed in", time.Time{})
				time.Sleep(time.Second)
				e.install()
			},
			wantAfter: 41 * time.Second, wantCalls: 1,
		},
		{
			name:     "three requests join the one sign-in",
			requests: 3,
			signIn: func(e *admissionEnv) {
				time.Sleep(10 * time.Second)
				e.u.signInEnded(nil)
				e.install()
			},
			wantAfter: 10 * time.Second, wantCalls: 3,
		},
		{
			name:   "no sign-in within signInWait",
			limits: config.Limits{SignInWait: 5},
			signIn: func(e *admissionEnv) {
				time.Sleep(time.Minute) // the user never comes
				e.u.signInEnded(context.DeadlineExceeded)
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "waited 5s (signInWait in the mcptray config)", wantAfter: 5 * time.Second,
		},
		{
			name: "consent refused",
			signIn: func(e *admissionEnv) {
				time.Sleep(20 * time.Second)
				e.u.signInEnded(declined)
				e.u.setState(StateNeedsLogin, "sign-in failed", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "the authorization was declined). Run `mcptray login srv`", wantAfter: 20 * time.Second,
		},
		{
			name: "signed in, and the server still wants a sign-in",
			signIn: func(e *admissionEnv) {
				time.Sleep(20 * time.Second)
				e.u.signInEnded(nil)
				e.u.setState(StateConnecting, "signed in", time.Time{})
				time.Sleep(time.Second)
				e.u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
			},
			wantCode: jsonrpc.CodeNeedsLogin, wantText: "still refuses the request after signing in", wantAfter: 21 * time.Second,
		},
		{
			name: "the IDE cancels",
			signIn: func(e *admissionEnv) {
				time.Sleep(7 * time.Second)
				e.cancel()
			},
			wantCode: -1, wantAfter: 7 * time.Second,
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := &admissionEnv{
					t:      t,
					u:      newTestUpstream(Tuning{HoldTimeout: 10 * time.Second}, row.limits),
					script: newConnScript(nil),
				}
				e.u.setState(StateLoggingIn, "waiting for the browser sign-in", time.Time{})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				e.cancel = cancel
				var wg sync.WaitGroup
				wg.Go(func() { row.signIn(e) })
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
				// While held, status counts the waiting requests.
				time.Sleep(time.Second)
				synctest.Wait()
				if got := e.u.status(false).WaitingForSignIn; got != n && row.wantAfter > time.Second {
					t.Errorf("status: %d requests waiting for a sign-in, want %d", got, n)
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
				}
				if got := e.script.count("tools/list"); got != row.wantCalls {
					t.Errorf("%d requests sent upstream, want %d", got, row.wantCalls)
				}
				if got := e.u.status(false).WaitingForSignIn; got != 0 {
					t.Errorf("status: %d requests waiting for a sign-in after all were answered", got)
				}
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

// TestSignInHoldNoSignInPossible: with no sign-in running and none the hub
// may start on its own (no credential store, NoAutoLogin, signed out on
// purpose), a request that needs one is answered at once with how to sign
// in, as before.
func TestSignInHoldNoSignInPossible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUpstream(Tuning{HoldTimeout: 10 * time.Second}, config.Limits{})
		u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
		start := time.Now()
		line := u.forward(context.Background(), nil, request("tools/list"))
		if d := time.Since(start); d != 0 {
			t.Errorf("answered after %s, want at once", d)
		}
		if code, msg := answerCode(t, line); code != jsonrpc.CodeNeedsLogin || !strings.Contains(msg, "mcptray login srv") {
			t.Errorf("answered %s", line)
		}
	})
}

// TestSignInFailureText: each way a hold ends has words that name the
// server and say how to sign in; none passes a sign-in error's secrets
// unscrubbed (errorLine scrubs) or reads as "not reachable".
func TestSignInFailureText(t *testing.T) {
	u := newTestUpstream(Tuning{}, config.Limits{})
	for _, f := range []*signInFailure{
		{kind: signInTimedOut, wait: 2 * time.Minute},
		{kind: signInFailed, err: declined()},
		{kind: signInFailed, err: errors.New("token endpoint said no")},
		{kind: signInStillRefused},
	} {
		code, text := u.unavailableText(f)
		if code != jsonrpc.CodeNeedsLogin || !strings.Contains(text, `server "srv"`) || !strings.Contains(text, "mcptray login srv") {
			t.Errorf("%v: code %d, %q", f, code, text)
		}
	}
}

func declined() error { return &auth.AuthorizationError{Code: "access_denied"} }
