package app

import (
	"strings"

	"fyne.io/fyne/v2"

	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
)

// MenuActions are what the tray menu's items do. A nil action leaves its
// item inert; a nil Quit lets Fyne quit the app.
type MenuActions struct {
	Reconnect    func(name string)
	ReconnectAll func()
	SignIn       func(name string)
	SignOut      func(name string)
	CopyBridge   func(name string)
	CopyHTTP     func(name string)
	CopyCode     func(name string) // copies a pending device sign-in's code
	SetEnabled   func(name string, enabled bool)
	ShowWindow   func()
	OpenConfig   func()
	OpenLogs     func()
	// StartAtLogin turns starting at login on or off.
	StartAtLogin func(on bool)
	Quit         func()
}

// LoginItem is the state of the tray menu's "Start at login" item.
type LoginItem struct {
	Shown    bool // the app can change it (else there is no item)
	Checked  bool // mcptray starts at login
	Disabled bool // a change runs, or the state is not read yet
}

// Labels of the tray menu's fixed items.
const (
	LabelReconnect    = "Reconnect"
	LabelSignIn       = "Sign in"
	LabelSignOut      = "Sign out"
	LabelCopyBridge   = "Copy bridge command"
	LabelCopyHTTP     = "Copy HTTP entry (URL and token)"
	LabelCopyCode     = "Copy code"
	LabelEnable       = "Enable"
	LabelDisable      = "Disable"
	LabelReconnectAll = "Reconnect all"
	LabelOpen         = "Open mcptray"
	LabelOpenConfig   = "Open config file"
	LabelOpenLogs     = "Open logs folder"
	LabelQuit         = "Quit"
)

// ServerLabel is a server's entry in the tray menu: "jira — connected".
func ServerLabel(s mcpclient.ServerStatus) string {
	return s.Name + " — " + StateLabel(s.State)
}

// BuildMenu builds the tray menu for a snapshot: the summary line, one
// entry per server with a submenu of its actions (a pending device
// sign-in's code and Copy code, Reconnect, Sign in or
// Sign out where it applies, Copy bridge command, Copy HTTP entry, Enable
// or Disable), then
// the app's actions, "Start at login" (checked when on) when login.Shown.
// It is a plain function of its inputs.
func BuildMenu(snap []mcpclient.ServerStatus, login LoginItem, acts MenuActions) *fyne.Menu {
	summary := fyne.NewMenuItem(Summary(snap), nil)
	summary.Disabled = true
	items := []*fyne.MenuItem{summary, fyne.NewMenuItemSeparator()}

	for _, s := range snap {
		items = append(items, serverMenuItem(s, acts))
	}
	if len(snap) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
	}

	all := fyne.NewMenuItem(LabelReconnectAll, bind0(acts.ReconnectAll))
	all.Disabled = OverallOf(snap) == OverallEmpty
	items = append(items,
		all,
		fyne.NewMenuItem(LabelOpen, bind0(acts.ShowWindow)),
		fyne.NewMenuItem(LabelOpenConfig, bind0(acts.OpenConfig)),
		fyne.NewMenuItem(LabelOpenLogs, bind0(acts.OpenLogs)),
	)
	if login.Shown {
		checked := login.Checked
		start := fyne.NewMenuItem(LabelStartAtLogin, func() {
			if acts.StartAtLogin != nil {
				acts.StartAtLogin(!checked)
			}
		})
		start.Checked, start.Disabled = checked, login.Disabled
		items = append(items, start)
	}
	items = append(items, fyne.NewMenuItemSeparator())
	quit := fyne.NewMenuItem(LabelQuit, acts.Quit)
	quit.IsQuit = true
	items = append(items, quit)
	return fyne.NewMenu("mcptray", items...)
}

func serverMenuItem(s mcpclient.ServerStatus, acts MenuActions) *fyne.MenuItem {
	name := s.Name
	disabled := s.State == mcpclient.StateDisabled

	reconnect := fyne.NewMenuItem(LabelReconnect, bind1(acts.Reconnect, name))
	reconnect.Disabled = disabled || s.State == mcpclient.StateConnecting

	items := []*fyne.MenuItem{reconnect}
	if text := DeviceCodeText(s); text != "" {
		// A device sign-in waits for its code: say it, and copy it.
		code := fyne.NewMenuItem(text, nil)
		code.Disabled = true
		items = append([]*fyne.MenuItem{code, fyne.NewMenuItem(LabelCopyCode+" "+s.Auth.DeviceCode.UserCode, bind1(acts.CopyCode, name)), fyne.NewMenuItemSeparator()}, items...)
	}
	switch SignAction(s) {
	case LabelSignIn:
		items = append(items, fyne.NewMenuItem(LabelSignIn, bind1(acts.SignIn, name)))
	case LabelSignOut:
		items = append(items, fyne.NewMenuItem(LabelSignOut, bind1(acts.SignOut, name)))
	}

	copyCmd := fyne.NewMenuItem(LabelCopyBridge, bind1(acts.CopyBridge, name))
	copyHTTP := fyne.NewMenuItem(LabelCopyHTTP, bind1(acts.CopyHTTP, name))

	var toggle *fyne.MenuItem
	if disabled {
		toggle = fyne.NewMenuItem(LabelEnable, func() {
			if acts.SetEnabled != nil {
				acts.SetEnabled(name, true)
			}
		})
	} else {
		toggle = fyne.NewMenuItem(LabelDisable, func() {
			if acts.SetEnabled != nil {
				acts.SetEnabled(name, false)
			}
		})
	}

	it := fyne.NewMenuItem(ServerLabel(s), nil)
	it.Icon = fyne.NewStaticResource("state-"+string(s.State)+".png", assets.Tray(stateIconName(s.State), 16))
	items = append(items, copyCmd, copyHTTP, fyne.NewMenuItemSeparator(), toggle)
	it.ChildMenu = fyne.NewMenu(name, items...)
	return it
}

// stateIconName is the tray icon that stands for one server's state.
func stateIconName(st mcpclient.State) string {
	return OverallOf([]mcpclient.ServerStatus{{State: st}}).IconName()
}

func bind0(f func()) func() {
	return func() {
		if f != nil {
			f()
		}
	}
}

func bind1(f func(string), name string) func() {
	return func() {
		if f != nil {
			f(name)
		}
	}
}

// MenuSignature renders what a menu shows (labels, enabled and checked
// marks, nesting) as text. Two menus with the same signature look the
// same, so the tray is rebuilt only when it changes.
func MenuSignature(m *fyne.Menu) string {
	var b strings.Builder
	var walk func(m *fyne.Menu, depth int)
	walk = func(m *fyne.Menu, depth int) {
		for _, it := range m.Items {
			b.WriteString(strings.Repeat("  ", depth))
			switch {
			case it.IsSeparator:
				b.WriteString("---")
			default:
				b.WriteString(it.Label)
				if it.Disabled {
					b.WriteString(" [disabled]")
				}
				if it.Checked {
					b.WriteString(" [checked]")
				}
			}
			b.WriteByte('\n')
			if it.ChildMenu != nil {
				walk(it.ChildMenu, depth+1)
			}
		}
	}
	walk(m, 0)
	return b.String()
}
