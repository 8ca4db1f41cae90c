package app

import (
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"

	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
)

// Options configure the UI. The zero value works.
type Options struct {
	// BridgeCommand is the bridge executable an IDE config names, as
	// "Copy bridge command" puts it; "" = "mcptray-bridge".
	BridgeCommand string
	// LogsDir is the folder "Open logs folder" opens; "" disables it.
	LogsDir string
	// OpenPath opens a file or folder with the desktop's default
	// application; nil uses the Fyne app's OpenURL with a file URL.
	OpenPath func(path string) error
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Logger receives what the UI could not show; nil discards it.
	Logger *slog.Logger
	// Autostart backs "Start at login" in the tray menu and the window;
	// nil leaves both out.
	Autostart Autostart
	// Notices shows notifications whose click comes back: a click on a
	// sign-in notification opens the pending sign-in page (or starts the
	// sign-in). nil, or one that fails, leaves them to Fyne's
	// notifications, which do nothing when clicked.
	Notices Notices
	// OpenURL opens a web page (the sign-in page) in the browser; nil uses
	// the Fyne app's OpenURL.
	OpenURL func(url string) error
}

// Tray is the part of a desktop Fyne app that drives the tray icon.
type Tray interface {
	SetSystemTrayMenu(*fyne.Menu)
	SetSystemTrayIcon(fyne.Resource)
}

// tickInterval is how often "since …" texts and retry countdowns are
// redrawn without any state change.
const tickInterval = 10 * time.Second

// UI is the tray icon, its menu, the window and the notifications of one
// hub. Create it with New, call Start on the Fyne goroutine (before or
// inside app.Run), and Stop when the app ends.
type UI struct {
	app  fyne.App
	hub  Hub
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	// Seams, replaced by tests.
	do     func(func()) // run on the Fyne goroutine
	notify func(Note)   // send a desktop notification
	tray   Tray         // nil when the driver has no tray

	// Fyne goroutine only.
	win     fyne.Window
	visible bool
	view    *windowView
	snap    []mcpclient.ServerStatus
	cfgErr  string
	busy    map[busyKey]bool
	menuSig string
	icon    string
	notes   *Notifier
	started bool
	form    *serverForm // the last add/edit form opened
	login   loginState  // starting at login
}

// busyKey names an action running for a server.
type busyKey struct{ server, action string }

// New prepares the UI of hub in a.
func New(a fyne.App, hub Hub, opts Options) *UI {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BridgeCommand == "" {
		opts.BridgeCommand = "mcptray-bridge"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{
		app: a, hub: hub, opts: opts, log: log, ctx: ctx, cancel: cancel,
		do:    fyne.Do,
		busy:  map[busyKey]bool{},
		notes: NewNotifier(),
	}
	u.notify = func(n Note) { go u.send(n) }
	if t, ok := a.(desktop.App); ok {
		u.tray = t
	}
	return u
}

// Start builds the window (hidden) and the tray icon, shows the current
// state and follows the hub's changes until Stop. Call it on the Fyne
// goroutine.
func (u *UI) Start() {
	if u.started {
		return
	}
	u.started = true
	u.win = u.app.NewWindow("mcptray")
	u.win.SetIcon(fyne.NewStaticResource("icon.png", assets.AppIcon()))
	u.view = newWindowView(u)
	u.win.SetContent(u.view.root)
	u.win.Resize(fyne.NewSize(900, 640))
	if t, ok := u.tray.(interface{ SetSystemTrayWindow(fyne.Window) }); ok {
		t.SetSystemTrayWindow(u.win) // the tray icon's primary click shows the window
	}
	u.win.SetCloseIntercept(u.hide) // after SetSystemTrayWindow, which sets its own
	// Subscribe before the first snapshot, so no change falls between.
	ch, unsubscribe := u.hub.Subscribe()
	u.view.setHTTP(u.hub.HTTPStatus())
	u.refresh(u.hub.Snapshot(false), u.hub.ConfigError())
	go u.readStartAtLogin()
	go u.watch(ch, unsubscribe)
}

// Stop ends the watch loop and any sign-in the UI started.
func (u *UI) Stop() { u.cancel() }

// Quit ends the app. It stops the driver's loop without closing each
// window first, as fyne.App.Quit does: Fyne 2.7.1's GLFW driver crashes
// (nil viewport in processMouseMoved) when a pointer event reaches a
// window it has marked closing, which the click on Quit itself can cause.
// GLFW destroys the windows as the loop ends. Call it on the Fyne
// goroutine.
func (u *UI) Quit() { u.app.Driver().Quit() }

// Show brings the window forward. Safe from any goroutine.
func (u *UI) Show() { u.do(u.show) }

// Window is the main window (nil before Start).
func (u *UI) Window() fyne.Window { return u.win }

func (u *UI) show() {
	if u.win == nil {
		return
	}
	u.visible = true
	u.win.Show()
	u.win.RequestFocus()
}

func (u *UI) hide() {
	u.visible = false
	u.win.Hide()
}

// watch follows the hub: every change signal, and a slow tick for the
// relative times, becomes a refresh on the Fyne goroutine.
func (u *UI) watch(ch <-chan struct{}, unsubscribe func()) {
	defer unsubscribe()
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-ch:
		case <-tick.C:
			u.readStartAtLogin() // it may have changed outside the app (mcptray autostart)
		}
		snap, cfgErr, hs := u.hub.Snapshot(false), u.hub.ConfigError(), u.hub.HTTPStatus()
		u.do(func() { u.view.setHTTP(hs); u.refresh(snap, cfgErr) })
	}
}

// refresh shows a snapshot everywhere: window, tray icon and menu, and
// notifications. Fyne goroutine only.
func (u *UI) refresh(snap []mcpclient.ServerStatus, cfgErr string) {
	if u.ctx.Err() != nil {
		return
	}
	u.snap, u.cfgErr = snap, cfgErr
	now := u.opts.Now()
	u.view.update(snap, cfgErr, now)
	u.updateTray(snap)
	for _, n := range u.notes.Update(snap, now) {
		u.notify(n)
	}
}

func (u *UI) updateTray(snap []mcpclient.ServerStatus) {
	if u.tray == nil {
		return
	}
	m := BuildMenu(snap, u.login.menuItem(u.opts.Autostart != nil), u.menuActions())
	if sig := MenuSignature(m); sig != u.menuSig {
		u.menuSig = sig
		u.tray.SetSystemTrayMenu(m)
	}
	// The icon after the menu: Fyne's first SetSystemTrayMenu starts the
	// tray, and an icon set before that is only remembered.
	if name := OverallOf(snap).IconName(); name != u.icon {
		u.icon = name
		u.tray.SetSystemTrayIcon(fyne.NewStaticResource("tray-"+name+".png", assets.Tray(name, trayIconSize)))
	}
}

// trayIconSize is the pixmap handed to the tray; panels scale it down.
const trayIconSize = 64

func (u *UI) menuActions() MenuActions {
	// The tray calls its items on its own goroutine (D-Bus); the actions
	// touch widgets and UI state, so each runs on the Fyne goroutine.
	named := func(f func(string)) func(string) { return func(n string) { u.do(func() { f(n) }) } }
	plain := func(f func()) func() { return func() { u.do(f) } }
	return MenuActions{
		Reconnect:    named(u.reconnect),
		ReconnectAll: plain(u.reconnectAll),
		SignIn:       named(u.signIn),
		SignOut:      named(u.signOut),
		CopyBridge:   named(u.copyBridge),
		CopyHTTP:     named(u.copyHTTP),
		CopyCode:     named(u.copyCode),
		SetEnabled:   func(n string, on bool) { u.do(func() { u.setEnabled(n, on) }) },
		ShowWindow:   plain(u.show),
		OpenConfig:   plain(u.openConfig),
		OpenLogs:     plain(u.openLogs),
		StartAtLogin: func(on bool) { u.do(func() { u.setStartAtLogin(on) }) },
		// Set, not left to Fyne: its tray captures a nil action before it
		// fills in its own quit.
		Quit: plain(u.Quit),
	}
}

// run starts a hub action off the Fyne goroutine. While it runs, the
// same action for the same server is not started again; its error is
// shown when it ends. Fyne goroutine only.
func (u *UI) run(server, action string, fn func() error) {
	key := busyKey{server, action}
	if u.busy[key] {
		return
	}
	u.busy[key] = true
	u.view.update(u.snap, u.cfgErr, u.opts.Now())
	go func() {
		err := fn()
		u.do(func() {
			delete(u.busy, key)
			if err != nil {
				u.report(action, server, err)
			}
			u.view.update(u.snap, u.cfgErr, u.opts.Now())
		})
	}()
}

// report shows a failed action: in the window's status line, and as a
// notification when the window is hidden (the click came from the tray).
func (u *UI) report(action, server string, err error) {
	msg := action + " failed: " + err.Error()
	if server != "" {
		msg = action + " " + server + " failed: " + err.Error()
	}
	u.log.Warn("UI action failed", "action", action, "server", server, "err", err)
	u.view.setStatus(msg, true)
	if !u.visible {
		u.notify(Note{Title: "mcptray: " + action + " failed", Content: msg})
	}
}

// send shows a notification: through Notices, so that a click comes
// back, else through Fyne. Off the Fyne goroutine.
func (u *UI) send(n Note) {
	if u.opts.Notices != nil {
		err := u.opts.Notices.Notify(n.Title, n.Content, func() { u.do(func() { u.noteClicked(n) }) })
		if err == nil {
			return
		}
		u.log.Debug("desktop notification through Fyne instead", "err", err)
	}
	u.app.SendNotification(fyne.NewNotification(n.Title, n.Content))
}

// noteClicked acts on a click on a notification: a sign-in note opens the
// page the server's sign-in waits on, or starts the sign-in when none
// runs; any other note shows the window. Fyne goroutine only.
func (u *UI) noteClicked(n Note) {
	if n.Kind == NoteSignIn {
		for _, s := range u.snap {
			if s.Name != n.Server {
				continue
			}
			switch {
			case s.Auth != nil && s.Auth.SignInURL != "":
				u.openWeb(n.Server, s.Auth.SignInURL)
				return
			case s.State == mcpclient.StateNeedsLogin:
				u.signIn(n.Server)
				return
			}
		}
	}
	u.show()
}

// openWeb opens a web page in the browser, off the Fyne goroutine.
func (u *UI) openWeb(server, page string) {
	u.run(server, "Open the sign-in page", func() error {
		if u.opts.OpenURL != nil {
			return u.opts.OpenURL(page)
		}
		p, err := url.Parse(page)
		if err != nil {
			return err
		}
		return u.app.OpenURL(p)
	})
}

func (u *UI) reconnect(name string) {
	u.run(name, "Reconnect", func() error { return u.hub.Reconnect(name, false) })
}

func (u *UI) reconnectAll() {
	u.run("", "Reconnect all", func() error { return u.hub.Reconnect("", true) })
}

// signIn runs the hub's browser sign-in. The window offers the sign-in
// link while it runs, for when no browser opened.
func (u *UI) signIn(name string) {
	u.view.setStatus("Signing in to "+name+": finish the sign-in in your browser.", false)
	u.run(name, "Sign in", func() error {
		err := u.hub.Login(u.ctx, name, func(url string) {
			u.do(func() { u.view.offerLink(name, url) })
		})
		u.do(func() {
			u.view.offerLink(name, "")
			if err == nil {
				u.view.setStatus("Signed in to "+name+".", false)
			}
		})
		return err
	})
}

func (u *UI) signOut(name string) {
	u.run(name, "Sign out", func() error {
		err := u.hub.Logout(u.ctx, name)
		if err == nil {
			u.do(func() { u.view.setStatus("Signed out of "+name+"; its stored credentials are deleted.", false) })
		}
		return err
	})
}

func (u *UI) setEnabled(name string, enabled bool) {
	action := "Disable"
	if enabled {
		action = "Enable"
	}
	u.run(name, action, func() error { return u.hub.SetEnabled(name, enabled) })
}

func (u *UI) copyBridge(name string) {
	u.app.Clipboard().SetContent(BridgeSnippet(u.opts.BridgeCommand, name))
	u.view.setStatus("Copied the IDE config for "+name+" to the clipboard.", false)
}

// copyCode copies the code of server name's pending device sign-in.
func (u *UI) copyCode(name string) {
	for _, s := range u.snap {
		if s.Name == name && s.Auth != nil && s.Auth.DeviceCode != nil {
			u.app.Clipboard().SetContent(s.Auth.DeviceCode.UserCode)
			u.view.setStatus("Copied the sign-in code for "+name+": enter it at "+s.Auth.DeviceCode.VerificationURI+".", false)
			return
		}
	}
	u.view.setStatus("No sign-in code is pending for "+name+".", false)
}

// copyHTTP copies server name's url entry for the HTTP endpoint, token
// included; the hub is asked off the Fyne goroutine.
func (u *UI) copyHTTP(name string) {
	u.run(name, LabelCopyHTTP, func() error {
		url, tok, err := u.hub.HTTPEntry(name)
		if err != nil {
			return err
		}
		u.do(func() {
			u.app.Clipboard().SetContent(HTTPSnippet(name, url, tok))
			u.view.setStatus("Copied the HTTP entry for "+name+" (its URL and mcptray's token) to the clipboard.", false)
		})
		return nil
	})
}

func (u *UI) openConfig() { u.open(u.hub.ConfigPath(), "Open config file") }

func (u *UI) openLogs() {
	if u.opts.LogsDir == "" {
		return
	}
	u.open(u.opts.LogsDir, "Open logs folder")
}

func (u *UI) open(path, action string) {
	if u.opts.OpenPath != nil {
		u.run("", action, func() error { return u.opts.OpenPath(path) })
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		u.report(action, "", err)
		return
	}
	uri, err := url.Parse(storage.NewFileURI(abs).String())
	if err != nil {
		u.report(action, "", err)
		return
	}
	if err := u.app.OpenURL(uri); err != nil {
		u.report(action, "", err)
	}
}

// ShowFatal shows that the hub could not run (e.g. the config file is
// broken at start): the window opens with the message, the tray icon
// shows a failure, and closing the window quits. Safe from any goroutine.
func (u *UI) ShowFatal(msg string) {
	u.do(func() {
		if u.win == nil {
			return
		}
		u.cancel()
		u.view.showFatal(msg)
		if u.tray != nil {
			u.icon = assets.TrayFailing
			u.tray.SetSystemTrayIcon(fyne.NewStaticResource("tray-failing.png", assets.Tray(assets.TrayFailing, trayIconSize)))
		}
		u.win.SetCloseIntercept(u.Quit)
		u.show()
	})
}

// Notice shows an informational line in the window's status bar. Safe
// from any goroutine.
func (u *UI) Notice(msg string) {
	u.do(func() {
		if u.view != nil {
			u.view.setStatus(msg, false)
		}
	})
}
