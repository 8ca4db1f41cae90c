// Package app is mcptray's desktop UI, built with Fyne: the tray icon and
// its menu, the window with the server list, the add/edit form, the event
// history and the notifications.
//
// The UI reads the hub only through the Hub interface (snapshots and a
// change signal) and calls its actions off the UI goroutine; it does no
// network or keychain work itself. Widgets are touched only on the Fyne
// goroutine: work started elsewhere comes back through fyne.Do.
package app

import (
	"context"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

// Hub is what the UI needs from the hub. *mcpclient.Hub provides all of
// it but ServerConfig, which cmd/mcptray adds.
//
// Every method may block (locks, config file, network, keychain) and is
// called off the UI goroutine, except Snapshot, ConfigError, ConfigPath
// and HTTPStatus, which must return at once.
type Hub interface {
	// Snapshot returns every server's status, sorted by name.
	Snapshot(withEvents bool) []mcpclient.ServerStatus
	// Subscribe returns a channel that receives a value whenever any
	// server's status changes (coalesced), and a function to stop.
	Subscribe() (<-chan struct{}, func())
	// Reconnect rebuilds a server's session now ("" with all = every one).
	Reconnect(name string, all bool) error
	// Login runs a browser sign-in for a server (joining one that runs)
	// and returns when it is done, failed or ctx ended; onURL receives the
	// sign-in URL, for when no browser opens.
	Login(ctx context.Context, name string, onURL func(url string)) error
	// Logout forgets a server's stored credentials.
	Logout(ctx context.Context, name string) error
	// SetEnabled enables or disables a server in the config file.
	SetEnabled(name string, enabled bool) error
	// EditConfig changes the config file through fn, validates it, writes
	// it atomically and applies it.
	EditConfig(fn func(*config.Config) error) error
	// ServerConfig returns a server's entry as the config file has it now
	// (for the edit form).
	ServerConfig(name string) (config.Server, error)
	// SetSecret stores a named secret, which the config refers to as
	// ${secret:NAME}, in the credential store; HasSecret reports whether
	// one is stored. The UI never reads a secret's value back.
	SetSecret(name, value string) error
	HasSecret(name string) (bool, error)
	// ConfigPath is the config file.
	ConfigPath() string
	// ConfigError is the last rejected edit of the config file, if any.
	ConfigError() string
	// HTTPStatus is the loopback HTTP endpoint's state (URL or error);
	// it returns at once.
	HTTPStatus() mcpclient.HTTPStatus
	// HTTPEntry is server name's URL on the endpoint and the token an
	// IDE sends to it.
	HTTPEntry(name string) (url, token string, err error)
}
