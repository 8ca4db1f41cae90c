package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
)

// TestWindowRendersEachState checks every state's row: dot colour, state
// words, details, last error, and which buttons say what and are enabled.
func TestWindowRendersEachState(t *testing.T) {
	h := newHarness(t, allStates()...)
	if got := h.ui.view.summary.Text; got != "1 of 6 servers connected (1 disabled)" {
		t.Errorf("summary = %q", got)
	}
	type want struct {
		state, details, lastErr string
		sign                    string
		reconnect, signOn       bool
		toggle                  string
	}
	cases := map[string]want{
		"a-connected":   {"Connected for 3 min", "12 tools · 2 IDEs attached · streamable-http", "", "Sign out", true, true, "Disable"},
		"b-connecting":  {"Connecting for 3 min", "0 IDEs attached", "", "", false, false, "Disable"},
		"c-needs-login": {"Needs sign-in for 3 min", "0 IDEs attached", "Last error: the server requires a sign-in: 401 Unauthorized", "Sign in", true, true, "Disable"},
		"d-logging-in":  {"Signing in for 3 min", "0 IDEs attached", "", "Signing in…", true, true, "Disable"},
		"e-backoff":     {"Retrying in 20s", "0 IDEs attached", "Last error: connection refused", "", true, false, "Disable"},
		"f-failed":      {"Failed for 3 min", "0 IDEs attached", "Last error: bad config: url: environment variable JIRA_HOST is not set; fix the config file", "", true, false, "Disable"},
		"g-disabled":    {"Disabled for 3 min", "0 IDEs attached", "", "", false, false, "Enable"},
	}
	for _, s := range allStates() {
		t.Run(s.Name, func(t *testing.T) {
			w := cases[s.Name]
			r := h.row(s.Name)
			if r.title.Text != s.Name || r.url.Text != s.URL {
				t.Errorf("title/url = %q %q", r.title.Text, r.url.Text)
			}
			if r.state.Text != w.state {
				t.Errorf("state = %q, want %q", r.state.Text, w.state)
			}
			if r.details.Text != w.details {
				t.Errorf("details = %q, want %q", r.details.Text, w.details)
			}
			if w.lastErr == "" && r.lastErr.Visible() {
				t.Errorf("last error shown: %q", r.lastErr.Text)
			}
			if w.lastErr != "" && (!r.lastErr.Visible() || r.lastErr.Text != w.lastErr) {
				t.Errorf("last error = %q (visible %v), want %q", r.lastErr.Text, r.lastErr.Visible(), w.lastErr)
			}
			if !sameColor(r.dot.FillColor, stateColor(s.State)) {
				t.Errorf("dot colour %v", r.dot.FillColor)
			}
			if w.sign == "" && r.sign.Visible() {
				t.Errorf("sign button %q shown", r.sign.Text)
			}
			if w.sign != "" && (!r.sign.Visible() || r.sign.Text != w.sign) {
				t.Errorf("sign button = %q (visible %v), want %q", r.sign.Text, r.sign.Visible(), w.sign)
			}
			if r.reconnect.Disabled() == w.reconnect {
				t.Errorf("reconnect enabled = %v, want %v", !r.reconnect.Disabled(), w.reconnect)
			}
			if w.sign != "" && r.sign.Disabled() == w.signOn {
				t.Errorf("sign enabled = %v, want %v", !r.sign.Disabled(), w.signOn)
			}
			if r.toggle.Text != w.toggle {
				t.Errorf("toggle = %q, want %q", r.toggle.Text, w.toggle)
			}
		})
	}
	// The rows are on the window's canvas, in the hub's order.
	markup := test.RenderToMarkup(h.ui.win.Canvas())
	last := -1
	for _, s := range allStates() {
		i := strings.Index(markup, ">"+s.Name+"<")
		if i < 0 || i < last {
			t.Fatalf("%s missing or out of order in the rendered window", s.Name)
		}
		last = i
	}
	if got := h.tray.icons; len(got) != 1 || got[0] != "tray-"+assets.TraySignIn+".png" {
		t.Errorf("tray icons = %v", got)
	}
}

func TestWindowEmptyAndConfigError(t *testing.T) {
	h := newHarness(t)
	if !h.ui.view.empty.Visible() || len(h.ui.view.list.Objects) != 1 || h.ui.view.list.Objects[0] != h.ui.view.empty {
		t.Fatal("the empty hint is not shown")
	}
	if h.ui.view.summary.Text != "No servers configured" {
		t.Errorf("summary = %q", h.ui.view.summary.Text)
	}
	if !h.ui.view.all.Disabled() {
		t.Error("Reconnect all is enabled with no servers")
	}
	h.hub.mu.Lock()
	h.hub.cfgErr = `config /x.json: server "jira": field "url": is required`
	h.hub.mu.Unlock()
	h.hub.set(server("jira", mcpclient.StateConnecting))
	h.pump("the row", func() bool { return h.ui.view.rows["jira"] != nil })
	if !h.ui.view.cfgErr.Visible() || !strings.Contains(h.ui.view.cfgErr.Text, `field "url": is required`) {
		t.Errorf("config error banner = %q (visible %v)", h.ui.view.cfgErr.Text, h.ui.view.cfgErr.Visible())
	}
	h.hub.set()
	h.pump("the empty hint", func() bool { return len(h.ui.view.rows) == 0 && h.ui.view.list.Objects[0] == h.ui.view.empty })
}

// TestStateChangeUpdatesRow follows a server from connecting to connected
// through the hub's change signal: the row, the tray icon and the menu.
func TestStateChangeUpdatesRow(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnecting))
	r := h.row("jira")
	if !strings.HasPrefix(r.state.Text, "Connecting") {
		t.Fatalf("state = %q", r.state.Text)
	}
	h.hub.set(server("jira", mcpclient.StateConnected))
	h.pump("the row to say connected", func() bool { return strings.HasPrefix(r.state.Text, "Connected") })
	if h.row("jira") != r {
		t.Error("the row was rebuilt instead of updated")
	}
	if !sameColor(r.dot.FillColor, stateColor(mcpclient.StateConnected)) || r.details.Text != "12 tools · 2 IDEs attached · streamable-http" {
		t.Errorf("dot %v details %q", r.dot.FillColor, r.details.Text)
	}
	if got := h.tray.icons; len(got) != 2 || got[1] != "tray-connected.png" {
		t.Errorf("tray icons = %v", got)
	}
	if n := len(h.tray.menus); n != 2 || !strings.Contains(MenuSignature(h.tray.menus[1]), "jira — connected") {
		t.Errorf("tray menus: %d", n)
	}

	// Only the time moved: the menu and the icon are not rebuilt.
	h.hub.set(server("jira", mcpclient.StateConnected))
	h.pump("the refresh", func() bool { return len(h.queue) == 0 })
	time.Sleep(20 * time.Millisecond)
	h.drain()
	if len(h.tray.menus) != 2 || len(h.tray.icons) != 2 {
		t.Errorf("tray rebuilt for an unchanged menu: %d menus, %d icons", len(h.tray.menus), len(h.tray.icons))
	}

	// Failing, then connected again: one "connected again" notification.
	h.hub.set(server("jira", mcpclient.StateBackoff))
	h.pump("retrying", func() bool { return strings.HasPrefix(r.state.Text, "Retrying") })
	h.hub.set(server("jira", mcpclient.StateConnected))
	h.pump("connected", func() bool { return strings.HasPrefix(r.state.Text, "Connected") })
	if len(h.notes) != 1 || h.notes[0].Title != "jira is connected again" {
		t.Errorf("notifications = %v", h.notes)
	}
}

// TestTapActions: each row button calls the hub's action for its server.
func TestTapActions(t *testing.T) {
	h := newHarness(t, server("github", mcpclient.StateConnected), server("jira", mcpclient.StateNeedsLogin))

	test.Tap(h.row("jira").reconnect)
	h.waitCall("reconnect jira")

	test.Tap(h.row("jira").sign)
	h.waitCall("login jira")

	test.Tap(h.row("github").sign)
	h.waitCall("logout github")

	test.Tap(h.row("github").toggle)
	h.waitCall("enable github false")

	test.Tap(h.ui.view.all)
	h.waitCall("reconnect --all")

	for _, c := range h.hub.Calls() {
		if c == "reconnect github" || c == "login github" {
			t.Errorf("unexpected call %q", c)
		}
	}
}

// TestActionErrorShown: a failed sign-in is reported in the status line,
// and as a notification while the window is hidden.
func TestActionErrorShown(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateNeedsLogin))
	h.hub.loginErr = errors.New("the sign-in was cancelled in the browser (access_denied)")
	test.Tap(h.row("jira").sign)
	want := "Sign in jira failed: the sign-in was cancelled in the browser (access_denied)"
	h.pump("the error", func() bool { return h.ui.view.status.Text == want })
	found := false
	for _, n := range h.notes {
		found = found || n.Content == want
	}
	if !found {
		t.Errorf("no notification for the failed action: %v", h.notes)
	}
}

// TestReconnectNotRepeatedWhileRunning: a second click while the first
// Reconnect runs starts nothing, and the button is disabled meanwhile.
func TestReconnectNotRepeatedWhileRunning(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateBackoff))
	release := make(chan struct{})
	h.hub.block = release
	r := h.row("jira")
	test.Tap(r.reconnect)
	<-h.hub.called
	if !r.reconnect.Disabled() {
		t.Error("Reconnect stays enabled while it runs")
	}
	h.ui.reconnect("jira") // e.g. from the tray menu
	close(release)
	h.pump("the button to come back", func() bool { return !r.reconnect.Disabled() })
	n := 0
	for _, c := range h.hub.Calls() {
		if c == "reconnect jira" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reconnects, want 1", n)
	}
}

func TestHistoryNewestFirst(t *testing.T) {
	s := server("jira", mcpclient.StateConnected)
	s.Events = []mcpclient.Event{
		{Time: now.Add(-2 * time.Minute), State: mcpclient.StateConnecting},
		{Time: now.Add(-time.Minute), State: mcpclient.StateBackoff, Reason: "connection refused"},
		{Time: now, State: mcpclient.StateConnected},
	}
	h := newHarness(t, s)
	test.Tap(h.row("jira").history)
	h.pump("the history dialog", func() bool { return h.ui.win.Canvas().Overlays().Top() != nil })
	markup := test.RenderToMarkup(h.ui.win.Canvas())
	iConn := strings.Index(markup, ">connected<")
	iBack := strings.Index(markup, ">retrying<")
	iStart := strings.Index(markup, ">connecting…<")
	if iConn < 0 || iBack < 0 || iStart < 0 || !(iConn < iBack && iBack < iStart) {
		t.Fatalf("events not newest first (%d %d %d)", iConn, iBack, iStart)
	}
	if !strings.Contains(markup, "connection refused") {
		t.Error("the reason is missing")
	}
}

func TestCopyBridgeAndOpen(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	h.ui.copyBridge("jira")
	want := "\"jira\": {\n  \"command\": \"/opt/mcptray/mcptray-bridge\",\n  \"args\": [\"jira\"]\n}"
	if got := h.ui.app.Clipboard().Content(); got != want {
		t.Errorf("clipboard = %q", got)
	}
	h.ui.openConfig()
	h.waitCall("open /home/user/.config/mcptray/config.json")
	h.ui.openLogs()
	h.waitCall("open /home/user/.local/state/mcptray")
}

func TestShowFatal(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	h.ui.ShowFatal("The hub could not start: config /x.json: not valid JSON")
	h.drain()
	if h.ui.view.summary.Text != "mcptray is not running" || !h.ui.view.add.Disabled() {
		t.Errorf("summary %q, add enabled %v", h.ui.view.summary.Text, !h.ui.view.add.Disabled())
	}
	if !strings.Contains(test.RenderToMarkup(h.ui.win.Canvas()), "not valid JSON") {
		t.Error("the reason is not shown")
	}
	if got := h.tray.icons[len(h.tray.icons)-1]; got != "tray-failing.png" {
		t.Errorf("tray icon %s", got)
	}
	// Later hub signals change nothing.
	h.hub.set(server("jira", mcpclient.StateConnecting))
	time.Sleep(20 * time.Millisecond)
	h.drain()
	if len(h.ui.view.rows) != 0 {
		t.Error("rows came back after the fatal error")
	}
}

// TestSignInOffersLink: while a sign-in runs the window offers its link;
// afterwards it says it is done and the link goes away.
func TestSignInOffersLink(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateNeedsLogin))
	release := make(chan struct{})
	h.hub.block = release
	test.Tap(h.row("jira").sign)
	<-h.hub.called
	h.pump("the link", func() bool { return h.ui.view.link.Visible() })
	if r := h.row("jira"); r.sign.Text != "Signing in…" || !r.sign.Disabled() {
		t.Errorf("sign button %q disabled %v while signing in", r.sign.Text, r.sign.Disabled())
	}
	test.Tap(h.ui.view.link)
	if got := h.ui.app.Clipboard().Content(); got != "https://auth.example.com/authorize?client_id=abc&state=xyz" {
		t.Errorf("clipboard = %q", got)
	}
	close(release)
	h.pump("the end of the sign-in", func() bool { return h.ui.view.status.Text == "Signed in to jira." })
	if h.ui.view.link.Visible() {
		t.Error("the link stays after the sign-in")
	}
}
