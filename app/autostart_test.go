package app

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/mcpclient"
)

// lastMenu is the tray menu the UI set last.
func (h *harness) lastMenu() *fyne.Menu {
	h.t.Helper()
	if len(h.tray.menus) == 0 {
		h.t.Fatal("no tray menu")
	}
	return h.tray.menus[len(h.tray.menus)-1]
}

// loginShown is the tray item's and the window check's state, as
// "checked"/"unchecked" and "enabled"/"disabled" for both.
func (h *harness) loginShown() string {
	h.t.Helper()
	it := item(h.t, h.lastMenu(), LabelStartAtLogin)
	c := h.ui.view.login
	return mark(it.Checked, "checked", "unchecked") + " " + mark(!it.Disabled, "enabled", "disabled") + " / " +
		mark(c.Checked, "checked", "unchecked") + " " + mark(!c.Disabled(), "enabled", "disabled")
}

func mark(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// TestStartAtLoginMenu: the tray item shows the setting once it is read,
// and clicking it turns it on, then off.
func TestStartAtLoginMenu(t *testing.T) {
	as := &fakeAutostart{}
	h := newHarnessWith(t, as, server("jira", mcpclient.StateConnected))
	if !h.ui.view.login.Visible() {
		t.Fatal("no Start at login check in the window")
	}
	want := "unchecked enabled / unchecked enabled"
	h.pump("the setting to be read", func() bool { return h.loginShown() == want })

	item(t, h.lastMenu(), LabelStartAtLogin).Action()
	h.waitCall("autostart true")
	want = "checked enabled / checked enabled"
	h.pump("Start at login to be on", func() bool { return h.loginShown() == want })
	if !as.isOn() {
		t.Error("autostart is off")
	}

	item(t, h.lastMenu(), LabelStartAtLogin).Action()
	h.waitCall("autostart false")
	want = "unchecked enabled / unchecked enabled"
	h.pump("Start at login to be off", func() bool { return h.loginShown() == want })
	if as.isOn() {
		t.Error("autostart is on")
	}
}

// TestStartAtLoginWindowCheck: the window's check shows the setting and
// tapping it changes it; the tray menu follows.
func TestStartAtLoginWindowCheck(t *testing.T) {
	as := &fakeAutostart{on: true}
	h := newHarnessWith(t, as)
	want := "checked enabled / checked enabled"
	h.pump("the setting to be read", func() bool { return h.loginShown() == want })

	test.Tap(h.ui.view.login)
	h.waitCall("autostart false")
	want = "unchecked enabled / unchecked enabled"
	h.pump("Start at login to be off", func() bool { return h.loginShown() == want })

	test.Tap(h.ui.view.login)
	h.waitCall("autostart true")
	want = "checked enabled / checked enabled"
	h.pump("Start at login to be on", func() bool { return h.loginShown() == want })
	if !as.isOn() {
		t.Error("autostart is off")
	}
	n := 0
	for _, c := range h.hub.Calls() {
		if strings.HasPrefix(c, "autostart ") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d autostart changes, want 2: %v", n, h.hub.Calls())
	}
}

// TestStartAtLoginBusy: while a change runs both controls are disabled
// and show the state asked for, and a second click starts nothing.
func TestStartAtLoginBusy(t *testing.T) {
	as := &fakeAutostart{}
	h := newHarnessWith(t, as)
	h.pump("the setting to be read", func() bool { return !h.ui.view.login.Disabled() })
	release := make(chan struct{})
	h.hub.block = release
	test.Tap(h.ui.view.login)
	<-h.hub.called
	if got := h.loginShown(); got != "checked disabled / checked disabled" {
		t.Errorf("while it runs: %s", got)
	}
	h.ui.setStartAtLogin(false) // e.g. from the tray menu
	close(release)
	want := "checked enabled / checked enabled"
	h.pump("the change to end", func() bool { return h.loginShown() == want })
	if calls := h.hub.Calls(); len(calls) != 1 {
		t.Errorf("calls %v, want one change", calls)
	}
}

// TestStartAtLoginError: a failed change is reported like other actions
// and both controls go back to the state as it is.
func TestStartAtLoginError(t *testing.T) {
	as := &fakeAutostart{setErr: errors.New("open /home/user/.config/autostart/mcptray.desktop: permission denied")}
	h := newHarnessWith(t, as)
	h.pump("the setting to be read", func() bool { return !h.ui.view.login.Disabled() })
	test.Tap(h.ui.view.login)
	want := "Turn on start at login failed: open /home/user/.config/autostart/mcptray.desktop: permission denied"
	h.pump("the error", func() bool { return h.ui.view.status.Text == want })
	if got := h.loginShown(); got != "unchecked enabled / unchecked enabled" {
		t.Errorf("after the failure: %s", got)
	}
	if len(h.notes) != 1 || h.notes[0].Content != want {
		t.Errorf("notifications %v, want the failure (the window is hidden)", h.notes)
	}
}

// TestStartAtLoginChangedOutside: a change made elsewhere (mcptray
// autostart on) shows at the next read; an unreadable setting leaves the
// controls usable.
func TestStartAtLoginChangedOutside(t *testing.T) {
	as := &fakeAutostart{readErr: errors.New("registry: access denied")}
	h := newHarnessWith(t, as)
	want := "unchecked enabled / unchecked enabled"
	h.pump("the failed read", func() bool { return h.loginShown() == want })
	as.mu.Lock()
	as.readErr = nil
	as.mu.Unlock()
	as.set(true)
	go h.ui.readStartAtLogin() // as the watch loop's tick does
	want = "checked enabled / checked enabled"
	h.pump("the new state", func() bool { return h.loginShown() == want })
}

// TestStartAtLoginAbsent: without an Autostart neither the menu nor the
// window offers it.
func TestStartAtLoginAbsent(t *testing.T) {
	h := newHarness(t)
	if h.ui.view.login.Visible() {
		t.Error("the window offers Start at login")
	}
	if strings.Contains(MenuSignature(h.lastMenu()), LabelStartAtLogin) {
		t.Error("the tray menu offers Start at login")
	}
}
