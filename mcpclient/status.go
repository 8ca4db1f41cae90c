package mcpclient

import (
	"context"
	"log/slog"
	"time"
)

// State is where a server's supervisor is.
type State string

// The states of a server's supervisor (README "How sessions heal"):
// connecting → connected → backoff → connecting …, plus disabled,
// needs_login, logging_in and failed.
const (
	StateDisabled   State = "disabled"
	StateConnecting State = "connecting"
	StateConnected  State = "connected"
	StateNeedsLogin State = "needs_login"
	StateLoggingIn  State = "logging_in"
	StateBackoff    State = "backoff"
	StateFailed     State = "failed"
)

// Event is one state transition of a server.
type Event struct {
	Time   time.Time `json:"time"`
	State  State     `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// maxEvents is how many events a server keeps for display.
const maxEvents = 100

// ServerStatus is a snapshot of one server for status, the UI and logs.
type ServerStatus struct {
	Name            string    `json:"name"`
	URL             string    `json:"url"`
	State           State     `json:"state"`
	Since           time.Time `json:"since"`
	LastError       string    `json:"lastError,omitempty"`
	NextAttempt     time.Time `json:"nextAttempt,omitzero"`
	Transport       string    `json:"transport,omitempty"`
	ProtocolVersion string    `json:"protocolVersion,omitempty"`
	// Era is "modern" (MCP 2026-07-28 and later: stateless) or "legacy"
	// (initialize sessions), for the session up now or the last one.
	Era string `json:"era,omitempty"`
	// EraProbe is what the last era detection sent, what answered, and
	// why it chose the era (doctor shows it).
	EraProbe       *EraProbe `json:"eraProbe,omitempty"`
	ServerName     string    `json:"serverName,omitempty"`
	ServerVersion  string    `json:"serverVersion,omitempty"`
	Tools          int       `json:"tools"`
	Resources      int       `json:"resources"`
	Prompts        int       `json:"prompts"`
	Bridges        int       `json:"bridges"`
	HTTPClients    int       `json:"httpClients"` // IDEs attached over the loopback HTTP endpoint
	SessionsOpened int       `json:"sessionsOpened"`
	Disabled       bool      `json:"disabled,omitempty"`
	SignedIn       bool      `json:"signedIn,omitempty"`
	Events         []Event   `json:"events,omitempty"`

	// WaitingForSignIn counts the requests held until a sign-in ends.
	WaitingForSignIn int `json:"waitingForSignIn,omitempty"`

	// Auth is the server's OAuth health (nil: it has not used OAuth).
	Auth *AuthStatus `json:"auth,omitempty"`
}

// setState records a transition. The caller must not hold u.mu.
func (u *supervisor) setState(st State, reason string, next time.Time) {
	reason = u.scrub(reason)
	u.mu.Lock()
	if u.state == st && u.lastErr == reason && st != StateBackoff {
		u.mu.Unlock()
		return
	}
	now := time.Now()
	u.state, u.since, u.nextAt = st, now, next
	switch {
	case st == StateConnected:
		u.downSince = time.Time{}
	case u.downSince.IsZero():
		u.downSince = now
	}
	switch st {
	case StateBackoff, StateFailed, StateNeedsLogin:
		u.lastErr = reason // connecting/connected reasons are not errors
	}
	u.events = append(u.events, Event{Time: now, State: st, Reason: reason})
	if len(u.events) > maxEvents {
		u.events = append(u.events[:0:0], u.events[len(u.events)-maxEvents:]...)
	}
	close(u.changed)
	u.changed = make(chan struct{})
	u.mu.Unlock()
	lvl := slog.LevelInfo
	if st == StateBackoff || st == StateFailed || st == StateNeedsLogin {
		lvl = slog.LevelWarn
	}
	u.log.Log(context.Background(), lvl, "state", "state", string(st), "reason", reason)
	u.notify()
}

func (u *supervisor) status(withEvents bool) ServerStatus {
	bridges := u.router.count()
	u.mu.Lock()
	defer u.mu.Unlock()
	st := ServerStatus{
		Name: u.name, URL: u.scrub(u.cfg.URL), State: u.state, Since: u.since, LastError: u.scrub(u.lastErr),
		NextAttempt: u.nextAt, Tools: u.counts[0], Resources: u.counts[1], Prompts: u.counts[2],
		Bridges: bridges, SessionsOpened: u.sessionsN, Disabled: u.cfg.Disabled,
		ServerName: u.serverInfo.Name, ServerVersion: u.serverInfo.Version,
		SignedIn: u.auth.signedIn, Auth: u.authStatus(),
	}
	st.WaitingForSignIn = u.auth.held
	if u.cur != nil {
		st.Transport = u.cur.transport
		st.ProtocolVersion = protocolOf(u.cur.init)
		st.Era = eraLegacy
		if u.cur.modern {
			st.Era = eraModern
		}
	} else {
		st.Transport = u.lastTrans
	}
	if u.probe != nil {
		p := EraProbe(*u.probe)
		st.EraProbe = &p
	}
	if withEvents {
		// Reasons were scrubbed when recorded; again, for secrets learned
		// since.
		st.Events = make([]Event, len(u.events))
		for i, e := range u.events {
			e.Reason = u.scrub(e.Reason)
			st.Events[i] = e
		}
	}
	return st
}
