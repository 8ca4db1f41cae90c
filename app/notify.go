package app

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"

	"github.com/mcptray/mcptray/mcpclient"
)

// Notification limits: a server gets at most one notification per
// perServerGap, and the app at most burst per burstWindow, so a flapping
// server cannot spam the desktop.
const (
	perServerGap = 5 * time.Minute
	burst        = 3
	burstWindow  = time.Minute
)

// Notifier decides which desktop notifications a new snapshot deserves:
// "needs sign-in" once per episode (until the server connects again or is
// disabled) — "waiting for your sign-in" when a request is held for a
// sign-in the hub started —, and "recovered" when a server connects after
// failing. It is plain logic: the caller sends what Update returns.
type Notifier struct {
	prev      map[string]mcpclient.State
	failing   map[string]bool // failed or backed off since it last connected
	signinMsg map[string]bool // told about this needs-sign-in episode
	lastSent  map[string]time.Time
	recent    []time.Time
}

// NewNotifier returns a Notifier that has seen nothing yet.
func NewNotifier() *Notifier {
	return &Notifier{
		prev:      map[string]mcpclient.State{},
		failing:   map[string]bool{},
		signinMsg: map[string]bool{},
		lastSent:  map[string]time.Time{},
	}
}

// Update takes the latest snapshot and returns the notifications to send.
func (n *Notifier) Update(snap []mcpclient.ServerStatus, now time.Time) []*fyne.Notification {
	var out []*fyne.Notification
	seen := make(map[string]bool, len(snap))
	for _, s := range snap {
		seen[s.Name] = true
		prev, known := n.prev[s.Name]
		n.prev[s.Name] = s.State
		if s.WaitingForSignIn > 0 && s.State == mcpclient.StateLoggingIn {
			// A request waits for the sign-in under way: the browser is
			// open, and the note says what it is for.
			if !n.signinMsg[s.Name] {
				n.signinMsg[s.Name] = true
				if note := n.allow(s.Name, now, waitingNote(s.Name)); note != nil {
					out = append(out, note)
				}
			}
			continue
		}
		switch s.State {
		case mcpclient.StateNeedsLogin:
			if n.signinMsg[s.Name] {
				continue
			}
			n.signinMsg[s.Name] = true
			if note := n.allow(s.Name, now, signInNote(s.Name)); note != nil {
				out = append(out, note)
			}
		case mcpclient.StateBackoff, mcpclient.StateFailed:
			n.failing[s.Name] = true
		case mcpclient.StateConnected:
			wasFailing := n.failing[s.Name]
			delete(n.failing, s.Name)
			delete(n.signinMsg, s.Name)
			if known && prev != mcpclient.StateConnected && wasFailing {
				if note := n.allow(s.Name, now, recoveredNote(s.Name)); note != nil {
					out = append(out, note)
				}
			}
		case mcpclient.StateDisabled:
			delete(n.failing, s.Name)
			delete(n.signinMsg, s.Name)
		}
	}
	for name := range n.prev {
		if !seen[name] {
			delete(n.prev, name)
			delete(n.failing, name)
			delete(n.signinMsg, name)
		}
	}
	return out
}

// allow applies the rate limits; nil means dropped.
func (n *Notifier) allow(name string, now time.Time, note *fyne.Notification) *fyne.Notification {
	if last, ok := n.lastSent[name]; ok && now.Sub(last) < perServerGap {
		return nil
	}
	kept := n.recent[:0]
	for _, t := range n.recent {
		if now.Sub(t) < burstWindow {
			kept = append(kept, t)
		}
	}
	n.recent = kept
	if len(n.recent) >= burst {
		return nil
	}
	n.recent = append(n.recent, now)
	n.lastSent[name] = now
	return note
}

func signInNote(name string) *fyne.Notification {
	return fyne.NewNotification(
		fmt.Sprintf("%s needs sign-in", name),
		fmt.Sprintf("Click Sign in for %s in mcptray, or run: mcptray login %s", name, name))
}

func waitingNote(name string) *fyne.Notification {
	return fyne.NewNotification(
		fmt.Sprintf("%s is waiting for your sign-in", name),
		fmt.Sprintf("A request to %s waits until you sign in in the browser window mcptray opened (or run: mcptray login %s).", name, name))
}

func recoveredNote(name string) *fyne.Notification {
	return fyne.NewNotification(
		fmt.Sprintf("%s is connected again", name),
		fmt.Sprintf("mcptray reconnected to %s after it had been failing.", name))
}
