package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/mcptray/mcptray/mcpclient"
)

// recorder collects what menu actions were called.
type recorder []string

func (r *recorder) actions() MenuActions {
	add := func(s string) { *r = append(*r, s) }
	return MenuActions{
		Reconnect:    func(n string) { add("reconnect " + n) },
		ReconnectAll: func() { add("reconnect --all") },
		SignIn:       func(n string) { add("login " + n) },
		SignOut:      func(n string) { add("logout " + n) },
		CopyBridge:   func(n string) { add("copy " + n) },
		SetEnabled: func(n string, on bool) {
			if on {
				add("enable " + n)
			} else {
				add("disable " + n)
			}
		},
		ShowWindow: func() { add("show") },
		OpenConfig: func() { add("config") },
		OpenLogs:   func() { add("logs") },
		StartAtLogin: func(on bool) {
			add(fmt.Sprintf("start at login %v", on))
		},
		Quit: func() { add("quit") },
	}
}

func item(t *testing.T, m *fyne.Menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("no item %q in menu:\n%s", label, MenuSignature(m))
	return nil
}

// TestMenuEveryState builds the menu for one server in each state and
// checks its entry, its submenu and what each item does.
func TestMenuEveryState(t *testing.T) {
	t.Parallel()
	type want struct {
		label     string
		sign      string
		reconnect bool // enabled
		signOn    bool
		toggle    string
	}
	cases := map[mcpclient.State]want{
		mcpclient.StateConnected:  {"jira — connected", "Sign out", true, true, "Disable"},
		mcpclient.StateConnecting: {"jira — connecting…", "", false, false, "Disable"},
		mcpclient.StateNeedsLogin: {"jira — needs sign-in", "Sign in", true, true, "Disable"},
		mcpclient.StateLoggingIn:  {"jira — signing in…", "Sign in", true, true, "Disable"},
		mcpclient.StateBackoff:    {"jira — retrying", "", true, false, "Disable"},
		mcpclient.StateFailed:     {"jira — failed", "", true, false, "Disable"},
		mcpclient.StateDisabled:   {"jira — disabled", "", false, false, "Enable"},
	}
	for st, w := range cases {
		t.Run(string(st), func(t *testing.T) {
			t.Parallel()
			var rec recorder
			m := BuildMenu([]mcpclient.ServerStatus{server("jira", st)}, LoginItem{}, rec.actions())
			it := item(t, m, w.label)
			if it.ChildMenu == nil || it.Icon == nil {
				t.Fatalf("%s has no submenu or icon", w.label)
			}
			sub := it.ChildMenu
			if got := item(t, sub, LabelReconnect); got.Disabled == w.reconnect {
				t.Errorf("Reconnect enabled = %v, want %v", !got.Disabled, w.reconnect)
			}
			labels := []string{LabelReconnect, LabelCopyBridge, w.toggle}
			wantCalls := []string{"reconnect jira", "copy jira", map[string]string{"Enable": "enable jira", "Disable": "disable jira"}[w.toggle]}
			if w.sign != "" {
				if got := item(t, sub, w.sign); got.Disabled == w.signOn {
					t.Errorf("%s enabled = %v, want %v", w.sign, !got.Disabled, w.signOn)
				}
				labels = append(labels, w.sign)
				wantCalls = append(wantCalls, map[string]string{"Sign in": "login jira", "Sign out": "logout jira"}[w.sign])
			} else {
				for _, it := range sub.Items {
					if it.Label == LabelSignIn || it.Label == LabelSignOut {
						t.Errorf("%s offered", it.Label)
					}
				}
			}
			for _, label := range labels {
				item(t, sub, label).Action()
			}
			if strings.Join(rec, ",") != strings.Join(wantCalls, ",") {
				t.Errorf("calls %v, want %v", rec, wantCalls)
			}
		})
	}
}

// TestMenuLayout checks the whole menu for a mixed snapshot, top to bottom.
func TestMenuLayout(t *testing.T) {
	t.Parallel()
	var rec recorder
	m := BuildMenu(allStates(), LoginItem{}, rec.actions())
	want := `1 of 6 servers connected (1 disabled) [disabled]
---
a-connected — connected
  Reconnect
  Sign out
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
b-connecting — connecting…
  Reconnect [disabled]
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
c-needs-login — needs sign-in
  Reconnect
  Sign in
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
d-logging-in — signing in…
  Reconnect
  Sign in
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
e-backoff — retrying
  Reconnect
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
f-failed — failed
  Reconnect
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
g-disabled — disabled
  Reconnect [disabled]
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Enable
---
Reconnect all
Open mcptray
Open config file
Open logs folder
---
Quit
`
	if got := MenuSignature(m); got != want {
		t.Errorf("menu:\n%s\nwant:\n%s", got, want)
	}
	for _, label := range []string{LabelReconnectAll, LabelOpen, LabelOpenConfig, LabelOpenLogs, LabelQuit} {
		item(t, m, label).Action()
	}
	if got := strings.Join(rec, ","); got != "reconnect --all,show,config,logs,quit" {
		t.Errorf("calls: %s", got)
	}
	if !item(t, m, LabelQuit).IsQuit {
		t.Error("Quit is not marked IsQuit (Fyne would add a second one)")
	}
}

func TestMenuEmpty(t *testing.T) {
	t.Parallel()
	m := BuildMenu(nil, LoginItem{}, MenuActions{})
	want := "No servers configured [disabled]\n---\nReconnect all [disabled]\nOpen mcptray\nOpen config file\nOpen logs folder\n---\nQuit\n"
	if got := MenuSignature(m); got != want {
		t.Errorf("menu:\n%s", got)
	}
	// Nil actions are inert, not a crash.
	for _, it := range m.Items {
		if it.Action != nil && !it.IsQuit {
			it.Action()
		}
	}
}

// TestMenuStartAtLogin: the item shows the autostart state and asks for
// the other one; it is absent when the app cannot change it, and inert
// while a change runs.
func TestMenuStartAtLogin(t *testing.T) {
	t.Parallel()
	tail := func(m *fyne.Menu) string {
		sig := MenuSignature(m)
		return sig[strings.Index(sig, LabelOpenLogs):]
	}
	var rec recorder
	for _, tc := range []struct {
		login LoginItem
		want  string
	}{
		{LoginItem{}, "Open logs folder\n---\nQuit\n"},
		{LoginItem{Shown: true}, "Open logs folder\nStart at login\n---\nQuit\n"},
		{LoginItem{Shown: true, Checked: true}, "Open logs folder\nStart at login [checked]\n---\nQuit\n"},
		{LoginItem{Shown: true, Checked: true, Disabled: true}, "Open logs folder\nStart at login [disabled] [checked]\n---\nQuit\n"},
	} {
		m := BuildMenu(nil, tc.login, rec.actions())
		if got := tail(m); got != tc.want {
			t.Errorf("%+v: menu ends\n%s\nwant\n%s", tc.login, got, tc.want)
		}
		if tc.login.Shown {
			item(t, m, LabelStartAtLogin).Action()
		}
	}
	if got := strings.Join(rec, ","); got != "start at login true,start at login false,start at login false" {
		t.Errorf("calls: %s", got)
	}
	// A nil action is inert.
	item(t, BuildMenu(nil, LoginItem{Shown: true}, MenuActions{}), LabelStartAtLogin).Action()
}
