package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// reconnect asks for an immediate rebuild. While a connect attempt runs it
// does nothing: that attempt is the rebuild.
func (u *supervisor) reconnect() {
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
func (u *supervisor) reconfigure(cfg config.Server, g globalSettings) {
	u.mu.Lock()
	u.cfg, u.global = cfg, g
	u.mu.Unlock()
	u.sem.setMax(config.EffectiveLimits(cfg.Limits, g.Limits).MaxInFlight)
	select {
	case u.reconfCh <- struct{}{}:
	default:
	}
}

// run is the supervisor's outer loop: connect, serve until broken, decide
// how long to wait, repeat. It returns when ctx ends, closing the session.
func (u *supervisor) run(ctx context.Context) {
	u.mu.Lock()
	u.runCtx = ctx
	u.mu.Unlock()
	st := runState{immediate: true}
	for ctx.Err() == nil {
		cfg, g := u.config()
		if cfg.Disabled {
			u.setState(StateDisabled, "disabled in the config", time.Time{})
			if !u.waitKick(ctx, 0) {
				break
			}
			st.attempt, st.immediate = 0, true
			continue
		}
		if !st.immediate {
			st.attempt++
			d := u.tuning.Backoff.Delay(st.attempt)
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
		u.setState(StateConnecting, u.connectReason(st.attempt, st.why), time.Time{})
		s, err := u.connect(ctx, cfg, g)
		st.why = ""
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			u.afterConnectFailure(ctx, err, &st)
			continue
		}
		st.authRetried = false
		u.install(s)
		reason, again := u.serve(ctx, s)
		if ctx.Err() != nil {
			u.stopping.Store(true)
		}
		u.uninstall(s, reason)
		st.why = "rebuilding: " + describe(reason)
		if ctx.Err() != nil {
			break
		}
		u.afterSession(s, reason, again, &st)
	}
	u.stopping.Store(true)
	// Every session is closed or draining (a drain ends with ctx): what
	// the supervisor started ends with them.
	u.bg.Wait()
	u.mu.Lock()
	u.stopped = true
	u.mu.Unlock()
}

// runState is what the supervisor's loop carries from one attempt to the
// next.
type runState struct {
	attempt     int    // connect attempts since the last good session
	immediate   bool   // connect again without a backoff wait
	authRetried bool   // a 401 on connect was answered with a refresh
	why         string // the reason the next connect states
}

// afterConnectFailure decides what a failed connect leads to: a refresh
// and an immediate retry, a sign-in wait (a step-up sign-in for a 403
// insufficient_scope), a permanent failure (bad config), or a backoff.
func (u *supervisor) afterConnectFailure(ctx context.Context, err error, st *runState) {
	if errors.Is(err, errReconfigured) {
		st.attempt, st.immediate = 0, true
		return
	}
	u.log.Warn("connect failed", "err", err)
	var ae *transport.AuthError
	var ce *transport.ConfigError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		retry, rerr := u.afterUnauthorized(ctx, ae)
		if retry && !st.authRetried {
			st.authRetried, st.immediate = true, true
			st.why = "token refreshed"
			return
		}
		if rerr != nil {
			u.mu.Lock()
			u.lastErr = u.scrub(describe(rerr))
			u.mu.Unlock()
			st.immediate = false
			return
		}
		u.setState(StateNeedsLogin, "the server requires a sign-in", time.Time{})
		if !u.waitLogin(ctx) {
			return
		}
		st.attempt, st.immediate, st.authRetried = 0, true, false
	case errors.As(err, &ae) && insufficientScope(ae):
		// The token lacks scopes the server wants for the connect itself
		// (a 2026-07-28 server/discover carries it): a step-up sign-in
		// for them, as a request refused so gets, and a connect with its
		// token. Past the step-ups allowed, the user must sign in. Either
		// way the connect waits for a sign-in that succeeds (its kick):
		// the credentials in the store are the ones refused.
		if u.stepUp(ae) {
			st.why = "step-up sign-in for more scopes"
		} else {
			u.setState(StateNeedsLogin, "the server refused access for lack of permissions (insufficient_scope), and repeated sign-ins did not grant them; check your account's access, then sign in again", time.Time{})
		}
		if !u.waitKick(ctx, 0) {
			return
		}
		st.attempt, st.immediate, st.authRetried = 0, true, false
	case errors.As(err, &ce):
		u.setState(StateFailed, "bad config: "+err.Error()+"; fix the config file", time.Time{})
		if !u.waitKick(ctx, 0) {
			return
		}
		st.attempt, st.immediate = 0, true
	default:
		u.mu.Lock()
		u.lastErr = u.scrub(describe(err))
		u.mu.Unlock()
		u.lastFailure.Store(&failureHint{err: err})
		st.immediate = false
	}
}

// afterSession decides how soon a session that ended is rebuilt.
func (u *supervisor) afterSession(s *session, reason error, again bool, st *runState) {
	lived := time.Since(s.started)
	switch {
	case again:
		st.attempt, st.immediate = 0, true
	case lived > 10*time.Second || s.served.Load():
		// A session that worked gets an immediate rebuild; one that died
		// before serving anything is flapping and backs off.
		st.attempt, st.immediate = 0, true
		u.lastFailure.Store(&failureHint{err: reason})
	default:
		u.lastFailure.Store(&failureHint{err: reason})
		st.immediate = st.attempt == 0
		if st.immediate {
			st.attempt = 1
		}
	}
	u.mu.Lock()
	u.lastErr = u.scrub(describe(reason))
	u.mu.Unlock()
}

type failureHint struct{ err error }

func (u *supervisor) retryAfterHint() time.Duration {
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

func (u *supervisor) connectReason(attempt int, why string) string {
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
func (u *supervisor) waitKick(ctx context.Context, d time.Duration) bool {
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
func (u *supervisor) waitLogin(ctx context.Context) bool {
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

func (u *supervisor) drainKick() {
	select {
	case <-u.kick:
	default:
	}
}

var errReconfigured = errors.New("config changed")

// errRebuildAfterLogin is why a session is replaced after a sign-in: the
// old one still works, so requests running on it may finish.
var errRebuildAfterLogin = errors.New("signed in; using the new credentials")

// serve waits until the session breaks, a rebuild is asked for, or ctx
// ends. again reports a rebuild that should happen at once.
func (u *supervisor) serve(ctx context.Context, s *session) (reason error, again bool) {
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
			return errReconfigured, true
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
