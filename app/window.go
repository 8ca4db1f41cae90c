package app

import (
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcptray/mcptray/mcpclient"
)

// windowView is the window's content: a header with the summary and the
// app's actions, a banner for a rejected config edit, the server rows and
// a status line.
type windowView struct {
	u       *UI
	root    fyne.CanvasObject
	summary *widget.Label
	cfgErr  *widget.Label
	http    *widget.Label // the loopback HTTP endpoint: URL or why it is off
	status  *widget.Label
	link    *widget.Button // copies a running sign-in's URL
	linkURL string
	empty   fyne.CanvasObject
	rows    map[string]*serverRow
	order   []string
	list    *fyne.Container
	add     *widget.Button
	all     *widget.Button
	login   *widget.Check // "Start at login"
}

func newWindowView(u *UI) *windowView {
	v := &windowView{u: u, rows: map[string]*serverRow{}}
	v.summary = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.add = widget.NewButtonWithIcon("Add server", theme.ContentAddIcon(), u.openAddForm)
	v.all = widget.NewButtonWithIcon(LabelReconnectAll, theme.ViewRefreshIcon(), u.reconnectAll)
	openCfg := widget.NewButtonWithIcon("Config file", theme.DocumentIcon(), u.openConfig)
	// The check follows the UI's state through setLogin, which calls
	// OnChanged with that state: only a change from it is the user's.
	v.login = widget.NewCheck(LabelStartAtLogin, func(on bool) {
		if on != u.login.on {
			u.setStartAtLogin(on)
		}
	})
	v.login.Disable() // until the state is read
	if u.opts.Autostart == nil {
		v.login.Hide()
	}
	header := container.NewBorder(nil, nil, v.summary, container.NewHBox(v.login, v.add, v.all, openCfg))

	v.cfgErr = widget.NewLabel("")
	v.cfgErr.Wrapping = fyne.TextWrapWord
	v.cfgErr.Importance = widget.DangerImportance
	v.cfgErr.Hide()
	v.http = widget.NewLabel("")
	v.http.Wrapping = fyne.TextWrapWord
	v.http.Hide()

	v.status = widget.NewLabel("")
	v.status.Truncation = fyne.TextTruncateEllipsis
	v.status.Importance = widget.LowImportance
	v.link = widget.NewButtonWithIcon("Copy sign-in link", theme.ContentCopyIcon(), func() {
		u.app.Clipboard().SetContent(v.linkURL)
		v.setStatus("Copied the sign-in link: paste it into a browser.", false)
	})
	v.link.Hide()

	hint := widget.NewLabel("No servers yet. Add one with “Add server”, or list it under mcpServers in the config file.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Alignment = fyne.TextAlignCenter
	v.empty = container.NewPadded(hint)

	v.list = container.NewVBox(v.empty)
	top := container.NewVBox(header, v.cfgErr, v.http, widget.NewSeparator())
	bottom := container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, v.link, v.status))
	v.root = container.NewBorder(top, bottom, nil, nil, container.NewVScroll(v.list))
	return v
}

// update shows a snapshot: rows are kept per server and changed in place,
// added and removed as servers come and go.
func (v *windowView) update(snap []mcpclient.ServerStatus, cfgErr string, now time.Time) {
	v.summary.SetText(Summary(snap))
	v.all.Disable()
	if OverallOf(snap) != OverallEmpty {
		v.all.Enable()
	}
	if cfgErr != "" {
		v.cfgErr.SetText("The config file has an error; running the previous config until it is fixed: " + cfgErr)
		v.cfgErr.Show()
	} else {
		v.cfgErr.Hide()
	}

	order := make([]string, 0, len(snap))
	seen := map[string]bool{}
	for _, s := range snap {
		r := v.rows[s.Name]
		if r == nil {
			r = newServerRow(v.u, s.Name)
			v.rows[s.Name] = r
		}
		r.set(s, now, v.u.busy)
		order = append(order, s.Name)
		seen[s.Name] = true
	}
	for name := range v.rows {
		if !seen[name] {
			delete(v.rows, name)
		}
	}
	if !slices.Equal(order, v.order) {
		v.order = order
		objs := make([]fyne.CanvasObject, 0, 2*len(order))
		for i, name := range order {
			if i > 0 {
				objs = append(objs, widget.NewSeparator())
			}
			objs = append(objs, v.rows[name].root)
		}
		if len(objs) == 0 {
			objs = append(objs, v.empty)
		}
		v.list.Objects = objs
		v.list.Refresh()
	}
}

// setLogin shows whether mcptray starts at login, and whether that can
// be changed now.
func (v *windowView) setLogin(on, busy bool) {
	v.login.SetChecked(on)
	if busy {
		v.login.Disable()
	} else {
		v.login.Enable()
	}
}

// offerLink shows the "Copy sign-in link" button for a running sign-in;
// an empty url takes it away.
func (v *windowView) offerLink(server, url string) {
	v.linkURL = url
	if url == "" {
		v.link.Hide()
		return
	}
	v.setStatus("Signing in to "+server+": finish in the browser window that opened. No browser?", false)
	v.link.Show()
}

// setStatus shows one line at the bottom of the window.
func (v *windowView) setStatus(msg string, isErr bool) {
	v.status.Importance = widget.LowImportance
	if isErr {
		v.status.Importance = widget.DangerImportance
	}
	v.status.SetText(msg)
}

// showFatal replaces the server list with why the hub is not running.
func (v *windowView) showFatal(msg string) {
	v.summary.SetText("mcptray is not running")
	v.add.Disable()
	v.all.Disable()
	v.cfgErr.Hide()
	text := widget.NewLabel(msg + "\n\nFix it (the Config file button opens the file), then start mcptray again.")
	text.Wrapping = fyne.TextWrapWord
	text.Importance = widget.DangerImportance
	v.list.Objects = []fyne.CanvasObject{container.NewPadded(text)}
	v.list.Refresh()
	v.order = nil
	v.rows = map[string]*serverRow{}
}

// setHTTP shows the loopback HTTP endpoint's line: its URL and the IDEs
// on it, or why it is not serving.
func (v *windowView) setHTTP(st mcpclient.HTTPStatus) {
	v.http.SetText(HTTPLine(st))
	v.http.Importance = widget.MediumImportance
	if st.Error != "" {
		v.http.Importance = widget.DangerImportance
	}
	if v.http.Text == "" {
		v.http.Hide()
	} else {
		v.http.Show()
	}
	v.http.Refresh()
}
