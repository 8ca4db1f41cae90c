package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
)

// Overall is the state the tray icon shows: the most pressing state among
// the enabled servers.
type Overall int

// Overall states, least pressing first.
const (
	OverallEmpty      Overall = iota // no enabled servers
	OverallConnected                 // every enabled server is connected
	OverallConnecting                // something is connecting or signing in
	OverallFailing                   // a server is failing or waiting to retry
	OverallSignIn                    // a server needs the user to sign in
)

func (o Overall) String() string {
	switch o {
	case OverallConnected:
		return "connected"
	case OverallConnecting:
		return "connecting"
	case OverallFailing:
		return "failing"
	case OverallSignIn:
		return "needs sign-in"
	}
	return "no servers"
}

// IconName is the assets tray icon for o.
func (o Overall) IconName() string {
	switch o {
	case OverallConnected:
		return assets.TrayConnected
	case OverallConnecting:
		return assets.TrayConnecting
	case OverallFailing:
		return assets.TrayFailing
	case OverallSignIn:
		return assets.TraySignIn
	}
	return assets.TrayEmpty
}

// OverallOf reduces a snapshot to the tray's state.
func OverallOf(snap []mcpclient.ServerStatus) Overall {
	o := OverallEmpty
	for _, s := range snap {
		var so Overall
		switch s.State {
		case mcpclient.StateDisabled:
			continue
		case mcpclient.StateConnected:
			so = OverallConnected
		case mcpclient.StateConnecting, mcpclient.StateLoggingIn:
			so = OverallConnecting
		case mcpclient.StateNeedsLogin:
			so = OverallSignIn
		default: // backoff, failed, and anything new
			so = OverallFailing
		}
		o = max(o, so)
	}
	return o
}

// Summary is the one line that heads the tray menu and the window, e.g.
// "3 of 4 servers connected".
func Summary(snap []mcpclient.ServerStatus) string {
	enabled, up, disabled := 0, 0, 0
	for _, s := range snap {
		switch s.State {
		case mcpclient.StateDisabled:
			disabled++
		case mcpclient.StateConnected:
			enabled++
			up++
		default:
			enabled++
		}
	}
	if len(snap) == 0 {
		return "No servers configured"
	}
	noun := "servers"
	if enabled == 1 {
		noun = "server"
	}
	line := fmt.Sprintf("%d of %d %s connected", up, enabled, noun)
	if disabled > 0 {
		line += fmt.Sprintf(" (%d disabled)", disabled)
	}
	return line
}

// StateLabel is a state in words, stable over time (for the tray menu,
// whose every change rebuilds the whole D-Bus menu).
func StateLabel(st mcpclient.State) string {
	switch st {
	case mcpclient.StateDisabled:
		return "disabled"
	case mcpclient.StateConnecting:
		return "connecting…"
	case mcpclient.StateConnected:
		return "connected"
	case mcpclient.StateNeedsLogin:
		return "needs sign-in"
	case mcpclient.StateLoggingIn:
		return "signing in…"
	case mcpclient.StateBackoff:
		return "retrying"
	case mcpclient.StateFailed:
		return "failed"
	}
	return strings.ReplaceAll(string(st), "_", " ")
}

// StateText is a server's state in words for the window, with how long
// it has been in it or, while backing off, when it tries again:
// "Connected for 3 min", "Retrying in 12s".
func StateText(s mcpclient.ServerStatus, now time.Time) string {
	words := StateLabel(s.State)
	words = strings.ToUpper(words[:1]) + words[1:]
	if s.State == mcpclient.StateBackoff && !s.NextAttempt.IsZero() {
		if d := s.NextAttempt.Sub(now); d > time.Second {
			return "Retrying in " + shortDuration(d)
		}
		return "Retrying now"
	}
	if s.Since.IsZero() {
		return words
	}
	if d := now.Sub(s.Since); d >= 10*time.Second {
		return strings.TrimSuffix(words, "…") + " for " + shortDuration(d)
	}
	return words + " · just now"
}

// Ago renders how long ago something happened, coarsely.
func Ago(d time.Duration) string {
	if d < 10*time.Second {
		return "just now"
	}
	return shortDuration(d) + " ago"
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// Details is the second line of a row: tools and attached IDEs.
func Details(s mcpclient.ServerStatus) string {
	var parts []string
	if s.State == mcpclient.StateConnected || s.Tools > 0 {
		parts = append(parts, plural(s.Tools, "tool", "tools"))
	}
	ides := plural(s.Bridges+s.HTTPClients, "IDE attached", "IDEs attached")
	if s.HTTPClients > 0 {
		ides += fmt.Sprintf(" (%d over HTTP)", s.HTTPClients)
	}
	parts = append(parts, ides)
	if s.Transport != "" && s.State == mcpclient.StateConnected {
		parts = append(parts, s.Transport)
	}
	if s.ProtocolVersion != "" && s.Era != "" && s.State == mcpclient.StateConnected {
		parts = append(parts, "MCP "+s.ProtocolVersion+" ("+s.Era+")")
	}
	return strings.Join(parts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ErrorText makes the last error of a failing server or one that needs
// sign-in readable in one paragraph: whitespace collapsed, bounded in
// length. Empty for every other state.
func ErrorText(s mcpclient.ServerStatus) string {
	switch s.State {
	case mcpclient.StateBackoff, mcpclient.StateFailed, mcpclient.StateNeedsLogin:
	default: // connected, disabled, or a connect attempt whose reason is no error
		return ""
	}
	if s.LastError == "" {
		return ""
	}
	msg := strings.Join(strings.Fields(s.LastError), " ")
	const maxLen = 300
	if r := []rune(msg); len(r) > maxLen {
		msg = string(r[:maxLen]) + "…"
	}
	return msg
}

// SignAction is a server's sign-in action: LabelSignIn while it needs
// (or is in) a sign-in, LabelSignOut while it holds stored credentials,
// "" for a server that has nothing to sign in or out of.
func SignAction(s mcpclient.ServerStatus) string {
	switch {
	case s.State == mcpclient.StateNeedsLogin || s.State == mcpclient.StateLoggingIn:
		return LabelSignIn
	case s.SignedIn:
		return LabelSignOut
	}
	return ""
}

// HTTPLine is the window's line about the loopback HTTP endpoint.
func HTTPLine(st mcpclient.HTTPStatus) string {
	switch {
	case st.URL != "":
		return fmt.Sprintf("HTTP endpoint: %s/NAME · %s over HTTP", st.URL, plural(st.Sessions, "IDE", "IDEs"))
	case st.Error != "":
		return "HTTP endpoint off: " + st.Error
	}
	return ""
}
