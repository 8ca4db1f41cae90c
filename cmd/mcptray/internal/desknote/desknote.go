// Package desknote shows desktop notifications whose click comes back to
// the app. Fyne 2.7's notifications cannot report a click; on Linux and
// the BSDs this package sends them to the session's notification server
// (org.freedesktop.Notifications, over D-Bus) with a "default" action and
// calls the notification's click function when the server reports
// ActionInvoked for it. Elsewhere, and where no notification server runs,
// Notify returns ErrUnavailable and the caller shows the notification its
// own way.
package desknote

import (
	"errors"
	"log/slog"
)

// ErrUnavailable means no notification server took the notification;
// show it another way.
var ErrUnavailable = errors.New("desknote: no desktop notification server")

// Options configure New. The zero value works.
type Options struct {
	// AppName names the sender to the notification server; "" = "mcptray".
	AppName string
	// Logger receives what went wrong; nil discards it.
	Logger *slog.Logger
	// Address is the D-Bus session bus address; "" = the session's
	// (DBUS_SESSION_BUS_ADDRESS). For tests.
	Address string
}

func (o *Options) defaults() {
	if o.AppName == "" {
		o.AppName = "mcptray"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
