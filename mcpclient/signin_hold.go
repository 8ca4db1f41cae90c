package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Calls wait for sign-in. A request that runs into a sign-in (no token, a
// failed refresh, a 401 after a refresh, a 403 insufficient_scope) does
// not fail while the sign-in can still succeed: the request starts the
// server's one sign-in or joins the one running, is held (with progress
// notifications when the IDE gave a progress token) and is sent again
// once the sign-in completed and the session carries the new token. The
// hold is bounded by signInWait; only a timeout, the IDE's cancel, a
// refused or failed sign-in, or a server that still refuses after it end
// the request with the words that say how to sign in.
//
// The request's forward loop asks for a session through acquireSignedIn;
// afterFailure marks a 401 after a refresh and a step-up as a needed
// sign-in (signInHold.need), acquire's needs_login and logging_in are
// one too. Login reports every sign-in's end to signInEnded.

// maxHoldsPerRequest bounds the sign-ins one request waits for (a first
// sign-in, then step-ups: at most 3 authorization requests, as for the
// server).
const maxHoldsPerRequest = 3

// holdProgressEvery is how often a held request with a progress token
// hears that it still waits.
const holdProgressEvery = 5 * time.Second

// signInHold is one request's sign-in waits; the zero value has none.
type signInHold struct {
	need  *signInNeed // a sign-in this request must wait for, or nil
	until time.Time   // the request's waits end then (set at its first)
	n     int         // waits so far
}

// signInNeed is why a request needs a sign-in, and the number of the last
// sign-in that had ended when that was found: any later end is the one
// the request waits for.
type signInNeed struct {
	cause error
	seq   uint64
}

// signInEnd is what the last sign-in of a server came to; ends is closed
// (and replaced) at each end. Guarded by supervisor.mu.
type signInEnd struct {
	seq  uint64
	err  error
	gen  int // the last session installed when it ended
	ends chan struct{}
}

// signInFailure is why a held request gets an error; signInText words it.
type signInFailure struct {
	kind signInFailKind
	wait time.Duration // signInWait, for the timeout's words
	err  error         // the sign-in's own error, for signInFailed
}

type signInFailKind int

const (
	signInTimedOut     signInFailKind = iota // signInWait passed
	signInFailed                             // the sign-in was refused or failed
	signInStillRefused                       // signed in, and the server still refuses
)

func (e *signInFailure) Error() string {
	switch e.kind {
	case signInTimedOut:
		return fmt.Sprintf("no sign-in within %s", e.wait)
	case signInFailed:
		return "the sign-in did not succeed: " + e.err.Error()
	}
	return "the server refused the new sign-in too"
}

func (e *signInFailure) Unwrap() error { return e.err }

// newSignInNeed records that a request needs a sign-in because of cause.
// Call it before starting the sign-in, so that its end is not missed.
func (u *supervisor) newSignInNeed(cause error) *signInNeed {
	u.mu.Lock()
	defer u.mu.Unlock()
	return &signInNeed{cause: cause, seq: u.auth.end.seq}
}

// signInEnded records the end of a sign-in (err nil: new credentials are
// stored) and wakes the requests held for it. A sign-in that succeeded
// lets the next one open the browser on its own again.
func (u *supervisor) signInEnded(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e := &u.auth.end
	e.seq++
	e.err, e.gen = err, u.gen
	if err == nil {
		u.auth.autoOpened = false
	}
	if e.ends != nil {
		close(e.ends)
	}
	e.ends = make(chan struct{})
}

// signInNeeded reports an acquire error that a sign-in can fix.
func signInNeeded(err error) bool {
	var ue *unavailableError
	return errors.As(err, &ue) && (ue.state == StateNeedsLogin || ue.state == StateLoggingIn)
}

// acquireSignedIn is acquire for a request that may wait for a sign-in:
// the one afterFailure asked for (h.need), or the one acquire finds
// needed. On an error the request gets the error's words (unavailableText).
func (u *supervisor) acquireSignedIn(ctx context.Context, c *call, deadline *time.Time, h *signInHold) (*session, error) {
	for {
		if h.need != nil {
			need := h.need
			h.need = nil
			if err := u.holdForSignIn(ctx, c, need, h); err != nil {
				return nil, err
			}
			// Signed in: the session is being rebuilt, as after an outage.
			*deadline = time.Now().Add(u.tuning.HoldTimeout)
		}
		s, err := u.acquire(ctx, *deadline)
		if err == nil || ctx.Err() != nil || !signInNeeded(err) {
			return s, err
		}
		h.need = u.newSignInNeed(err)
	}
}

// holdForSignIn starts the server's sign-in or joins the one running, and
// waits until it has ended and the session carries its token (nil), or
// the request's wait is over (a *signInFailure, or ctx's cause). When no
// sign-in can be started (none runs, and the hub may not open a browser
// on its own: NoAutoLogin, signed out on purpose, or the last automatic
// sign-in failed) it returns need.cause at once, as before holds existed.
func (u *supervisor) holdForSignIn(ctx context.Context, c *call, need *signInNeed, h *signInHold) error {
	wait := time.Duration(u.limits().SignInWait) * time.Second
	if h.until.IsZero() {
		h.until = time.Now().Add(wait)
	}
	h.n++
	if h.n > maxHoldsPerRequest {
		return &signInFailure{kind: signInStillRefused}
	}
	if !u.joinOrStartSignIn(need) {
		return need.cause
	}
	u.mu.Lock()
	u.auth.held++
	u.mu.Unlock()
	u.notify()
	defer func() {
		u.mu.Lock()
		u.auth.held--
		u.mu.Unlock()
		u.notify()
	}()
	u.log.Info("a request waits for the sign-in", "method", c.method, "signInWait", wait)

	timer := time.NewTimer(time.Until(h.until))
	defer timer.Stop()
	tick := time.NewTicker(holdProgressEvery)
	defer tick.Stop()
	sent := 0
	progress := func() {
		sent++
		u.holdProgress(c, sent)
	}
	progress()
	// A control client hears what the hold waits for, at first and at
	// each change of the sign-in URL or code.
	watch := holdWatcherOf(ctx)
	var pending <-chan struct{} // nil (never ready) without a watcher
	var told *HoldWait
	tell := func() {
		if watch == nil {
			return
		}
		pending = u.pendingWatch()
		w := u.holdWait()
		if told == nil || w.URL != told.URL || w.UserCode() != told.UserCode() {
			told = &w
			watch(w)
		}
	}
	tell()
	signedIn := false
	for {
		u.mu.Lock()
		st, cur, changed := u.state, u.cur, u.changed
		end := u.auth.end
		if end.ends == nil {
			u.auth.end.ends = make(chan struct{})
			end.ends = u.auth.end.ends
		}
		running := u.auth.bgLogins > 0 || st == StateLoggingIn
		u.mu.Unlock()
		if end.seq != need.seq && !signedIn {
			if end.err != nil {
				return &signInFailure{kind: signInFailed, err: end.err}
			}
			signedIn = true
		}
		if signedIn {
			switch {
			case st == StateConnected && cur != nil && cur.gen > end.gen:
				return nil
			case st == StateNeedsLogin:
				return &signInFailure{kind: signInStillRefused}
			case st == StateBackoff || st == StateFailed || st == StateDisabled:
				return nil // acquire waits for, or reports, that
			}
		} else if !running {
			// The sign-in ended without a word (it never started: the
			// supervisor stopped) or the server no longer needs one.
			if st == StateNeedsLogin {
				return need.cause
			}
			return nil
		}
		select {
		case <-changed:
		case <-pending:
			tell()
		case <-end.ends:
		case <-tick.C:
			progress()
		case <-timer.C:
			return &signInFailure{kind: signInTimedOut, wait: wait}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// HoldWait is what a request held for a sign-in waits for, as a control
// client (mcptray call, mcptray tools) shows it.
type HoldWait struct {
	Server string
	// URL is the page the sign-in waits on (the authorization URL, or the
	// device flow's verification URI); "" until the sign-in has one.
	URL string
	// DeviceCode is the code to enter when the device flow runs.
	DeviceCode *auth.DeviceCode
}

// UserCode is the device code to enter, "" for none.
func (w HoldWait) UserCode() string {
	if w.DeviceCode == nil {
		return ""
	}
	return w.DeviceCode.UserCode
}

// Message words the wait, as the IDEs' progress notifications do.
func (w HoldWait) Message() string {
	switch {
	case w.DeviceCode != nil:
		return fmt.Sprintf("waiting for you to sign in to %s: open %s and enter the code %s", w.Server, w.DeviceCode.VerificationURI, w.DeviceCode.UserCode)
	case w.URL != "":
		return fmt.Sprintf("waiting for you to sign in to %s in your browser (%s)", w.Server, w.URL)
	}
	return fmt.Sprintf("waiting for you to sign in to %s in your browser", w.Server)
}

// holdWait is what the server's sign-in waits for now.
func (u *supervisor) holdWait() HoldWait {
	u.mu.Lock()
	defer u.mu.Unlock()
	w := HoldWait{Server: u.name, URL: u.auth.health.status.SignInURL}
	if dc := u.auth.health.status.DeviceCode; dc != nil {
		c := *dc
		w.DeviceCode = &c
	}
	return w
}

// holdWatchKey carries a request's hold watcher in its context.
type holdWatchKey struct{}

// withHoldWatcher returns a context whose request, when held for a
// sign-in, tells fn what it waits for: when the hold starts and whenever
// the sign-in URL or device code changes. fn runs on the request's
// goroutine. The control API passes it this way, through the request's
// forward loop, which has no other seam for a client without a
// downstream.
func withHoldWatcher(ctx context.Context, fn func(HoldWait)) context.Context {
	return context.WithValue(ctx, holdWatchKey{}, fn)
}

func holdWatcherOf(ctx context.Context) func(HoldWait) {
	fn, _ := ctx.Value(holdWatchKey{}).(func(HoldWait))
	return fn
}

// joinOrStartSignIn makes sure a sign-in runs for need: one running, one
// that ended since need was found (the hold sees its end), or a new one.
// It reports false when none runs and the hub may not start one.
func (u *supervisor) joinOrStartSignIn(need *signInNeed) bool {
	u.mu.Lock()
	if u.auth.bgLogins > 0 || u.state == StateLoggingIn || u.auth.end.seq != need.seq {
		u.mu.Unlock()
		return true
	}
	if u.creds == nil || u.noAutoLogin || u.auth.autoOpened {
		u.mu.Unlock()
		return false
	}
	// Once per episode: a sign-in that fails leaves the next request its
	// error instead of another browser window.
	u.auth.autoOpened = true
	u.mu.Unlock()
	u.loginInBackground("a request is waiting for a sign-in")
	return true
}

// holdProgress tells the IDE whose request waits, when it gave a progress
// token, that it waits for the user's sign-in (the n-th time in this
// wait; sendProgress keeps it above what the IDE heard before).
func (u *supervisor) holdProgress(c *call, n int) {
	if c == nil || c.ds == nil {
		return
	}
	msg, _ := json.Marshal(fmt.Sprintf("waiting for you to sign in to %s in your browser", u.name))
	u.sendProgress(c, progressFromHold, map[string]json.RawMessage{
		"progress": json.RawMessage(strconv.Itoa(n)),
		"message":  msg,
	})
}

// signInText words the error of a request whose wait for a sign-in
// ended without one; ok is false for other errors.
func (u *supervisor) signInText(err error) (code int, text string, ok bool) {
	var f *signInFailure
	if !errors.As(err, &f) {
		return 0, "", false
	}
	switch f.kind {
	case signInTimedOut:
		text = fmt.Sprintf("mcptray: server %q needs you to sign in; mcptray waited %s (signInWait in the mcptray config) for the sign-in in your browser. Finish it in the browser window mcptray opened, or run `mcptray login %s`, then try again.", u.name, f.wait, u.name)
	case signInFailed:
		why := f.err.Error()
		if errors.Is(f.err, auth.ErrAccessDenied) {
			why = "the authorization was declined"
		} else if errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded) {
			why = "it was not completed"
		}
		text = fmt.Sprintf("mcptray: signing in to server %q did not succeed (%s). Run `mcptray login %s` (or click Sign in for %q in the mcptray tray menu), then try again.", u.name, why, u.name, u.name)
	default:
		text = fmt.Sprintf("mcptray: server %q still refuses the request after signing in. Check your account's access, then run `mcptray login %s` and try again.", u.name, u.name)
	}
	return jsonrpc.CodeNeedsLogin, text, true
}
