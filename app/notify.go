package app

import (
	"fmt"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
)

// Note is a desktop notification and what a click on it is about.
type Note struct {
	Title, Content string
	// Server is the server it is about ("" for none); Kind what it says.
	Server string
	Kind   NoteKind
}

// NoteKind says what a notification is about, which decides what a click
// on it does.
type NoteKind int

const (
	// NoteInfo: a click shows the window.
	NoteInfo NoteKind = iota
	// NoteSignIn: the server needs a sign-in, or a request waits for
	// one. A click opens the pending sign-in page in the browser, or
	// starts the sign-in when none runs.
	NoteSignIn
)

// Notices shows desktop notifications whose click the desktop reports
// back (cmd/mcptray gives one that speaks to the notification server
// over D-Bus). Notify returns an error when it cannot show the
// notification; the UI then sends it through Fyne, whose notifications
// cannot be clicked. onClick may run on any goroutine.
type Notices interface {
	Notify(title, body string, onClick func()) error
}

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
func (n *Notifier) Update(snap []mcpclient.ServerStatus, now time.Time) []Note {
	var out []Note
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
				if note, ok := n.allow(s.Name, now, waitingNote(s.Name)); ok {
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
			if note, ok := n.allow(s.Name, now, signInNote(s.Name)); ok {
				out = append(out, note)
			}
		case mcpclient.StateBackoff, mcpclient.StateFailed:
			n.failing[s.Name] = true
		case mcpclient.StateConnected:
			wasFailing := n.failing[s.Name]
			delete(n.failing, s.Name)
			delete(n.signinMsg, s.Name)
			if known && prev != mcpclient.StateConnected && wasFailing {
				if note, ok := n.allow(s.Name, now, recoveredNote(s.Name)); ok {
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

// allow applies the rate limits; false means dropped.
func (n *Notifier) allow(name string, now time.Time, note Note) (Note, bool) {
	if last, ok := n.lastSent[name]; ok && now.Sub(last) < perServerGap {
		return Note{}, false
	}
	kept := n.recent[:0]
	for _, t := range n.recent {
		if now.Sub(t) < burstWindow {
			kept = append(kept, t)
		}
	}
	n.recent = kept
	if len(n.recent) >= burst {
		return Note{}, false
	}
	n.recent = append(n.recent, now)
	n.lastSent[name] = now
	return note, true
}

func signInNote(name string) Note {
	return Note{
		Title:   fmt.Sprintf("%s needs sign-in", name),
		Content: fmt.Sprintf("Click Sign in for %s in mcptray, or run: mcptray login %s", name, name),
		Server:  name, Kind: NoteSignIn,
	}
}

func waitingNote(name string) Note {
	return Note{
		Title:   fmt.Sprintf("%s is waiting for your sign-in", name),
		Content: fmt.Sprintf("A request to %s waits until you sign in in the browser window mcptray opened (or run: mcptray login %s).", name, name),
		Server:  name, Kind: NoteSignIn,
	}
}

func recoveredNote(name string) Note {
	return Note{
		Title:   fmt.Sprintf("%s is connected again", name),
		Content: fmt.Sprintf("mcptray reconnected to %s after it had been failing.", name),
		Server:  name,
	}
}
