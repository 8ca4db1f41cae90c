package app

import "sync/atomic"

// Autostart is whether mcptray starts when the user logs in, for the
// "Start at login" menu item and window check. cmd/mcptray implements it
// with mcpclient/autostart. Both methods may block (files, registry) and
// are called off the UI goroutine.
type Autostart interface {
	// Enabled reports whether mcptray starts at login.
	Enabled() (bool, error)
	// SetEnabled makes mcptray start at login, or stop doing so.
	SetEnabled(on bool) error
}

// LabelStartAtLogin is the menu item's and the window check's label.
const LabelStartAtLogin = "Start at login"

// loginState is the UI's view of the autostart setting. Fyne goroutine
// only, but gen, which also readers off it load.
type loginState struct {
	known   bool // read once (or failed to): until then it cannot change
	on      bool
	busy    bool   // a change runs
	readErr string // the last failed read, logged once
	// gen counts changes started and ended: a read that began before one
	// is stale when it comes back.
	gen atomic.Int64
}

// menuItem is what the tray menu shows for it.
func (l *loginState) menuItem(shown bool) LoginItem {
	return LoginItem{Shown: shown, Checked: l.on, Disabled: l.busy || !l.known}
}

// readStartAtLogin reads the autostart setting and shows it. Any goroutine
// but the Fyne one. A failed read is logged, not shown: the user did not
// ask for it.
func (u *UI) readStartAtLogin() {
	as := u.opts.Autostart
	if as == nil {
		return
	}
	gen := u.login.gen.Load()
	on, err := as.Enabled()
	u.do(func() {
		if u.login.busy || u.login.gen.Load() != gen {
			return
		}
		if err != nil {
			if msg := err.Error(); msg != u.login.readErr {
				u.login.readErr = msg
				u.log.Warn("cannot read whether mcptray starts at login", "err", err)
			}
			on = u.login.on // unknown: keep what is shown, and let the user try
		} else {
			u.login.readErr = ""
		}
		if u.login.known && u.login.on == on {
			return
		}
		u.login.known, u.login.on = true, on
		u.showStartAtLogin()
	})
}

// setStartAtLogin turns starting at login on or off, off the Fyne
// goroutine, then shows the state as it now is. Fyne goroutine only.
func (u *UI) setStartAtLogin(on bool) {
	as := u.opts.Autostart
	if as == nil || u.login.busy {
		return
	}
	action := "Turn off start at login"
	if on {
		action = "Turn on start at login"
	}
	was := u.login.on
	u.login.busy, u.login.on = true, on // shown as asked while it runs
	u.login.gen.Add(1)
	u.showStartAtLogin()
	go func() {
		err := as.SetEnabled(on)
		now, rerr := as.Enabled()
		u.do(func() {
			u.login.busy, u.login.known = false, true
			u.login.gen.Add(1)
			switch {
			case rerr == nil:
				u.login.on = now
			case err != nil:
				u.login.on = was
			}
			if err != nil {
				u.report(action, "", err)
			} else if rerr != nil {
				u.log.Warn("cannot read whether mcptray starts at login", "err", rerr)
			}
			u.showStartAtLogin()
		})
	}()
}

// showStartAtLogin shows the autostart state in the window and the tray
// menu. Fyne goroutine only.
func (u *UI) showStartAtLogin() {
	if u.view == nil {
		return
	}
	u.view.setLogin(u.login.on, u.login.busy)
	if u.ctx.Err() == nil { // else ShowFatal owns the tray
		u.updateTray(u.snap)
	}
}
