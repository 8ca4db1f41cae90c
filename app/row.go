package app

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcptray/mcptray/mcpclient"
)

// serverRow is one server in the window: a status dot, the name and URL,
// the state with its time, tools and attached IDEs, the last error, and
// the server's actions.
type serverRow struct {
	u    *UI
	name string
	root fyne.CanvasObject

	dot       *canvas.Circle
	title     *widget.Label
	url       *widget.Label
	state     *widget.Label
	details   *widget.Label
	lastErr   *widget.Label
	auth      *widget.Label  // OAuth health (authtext.go)
	device    *widget.Label  // a pending device sign-in's code
	copyCode  *widget.Button // copies that code
	reconnect *widget.Button
	sign      *widget.Button
	toggle    *widget.Button
	edit      *widget.Button
	history   *widget.Button
	remove    *widget.Button

	cur mcpclient.ServerStatus
}

func newServerRow(u *UI, name string) *serverRow {
	r := &serverRow{u: u, name: name}
	r.dot = canvas.NewCircle(color.Transparent)
	r.title = widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.url = widget.NewLabel("")
	r.url.Truncation = fyne.TextTruncateEllipsis
	r.url.Importance = widget.LowImportance
	r.state = widget.NewLabel("")
	r.details = widget.NewLabel("")
	r.details.Importance = widget.LowImportance
	r.lastErr = widget.NewLabel("")
	r.lastErr.Wrapping = fyne.TextWrapWord
	r.lastErr.Importance = widget.DangerImportance

	r.auth = widget.NewLabel("")
	r.auth.Wrapping = fyne.TextWrapWord
	r.auth.Importance = widget.LowImportance
	r.device = widget.NewLabel("")
	r.device.Importance = widget.HighImportance
	r.copyCode = widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() {
		if a := r.cur.Auth; a != nil && a.DeviceCode != nil {
			u.app.Clipboard().SetContent(a.DeviceCode.UserCode)
			u.view.setStatus("Copied the sign-in code for "+name+" to the clipboard.", false)
		}
	})

	r.reconnect = widget.NewButtonWithIcon(LabelReconnect, theme.ViewRefreshIcon(), func() { u.reconnect(name) })
	r.sign = widget.NewButtonWithIcon(LabelSignIn, theme.LoginIcon(), r.tapSign)
	r.toggle = widget.NewButton(LabelDisable, r.tapToggle)
	r.edit = widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { u.openEditForm(name) })
	r.history = widget.NewButtonWithIcon("", theme.HistoryIcon(), func() { u.openHistory(name) })
	r.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { u.confirmRemove(name) })

	dot := container.NewCenter(container.NewGridWrap(fyne.NewSize(12, 12), r.dot))
	// Sign in/out comes first: it is not always there, and the row's other
	// buttons stay aligned with the rows above and below without it.
	actions := container.NewHBox(r.sign, r.reconnect, r.toggle, r.edit, r.history, r.remove)
	head := container.NewBorder(nil, nil, container.NewHBox(dot, r.title), actions, r.url)
	indent := canvas.NewRectangle(color.Transparent)
	indent.SetMinSize(fyne.NewSize(12, 0))
	body := container.NewVBox(container.NewHBox(r.state, r.details), r.lastErr, r.auth, container.NewHBox(r.device, r.copyCode))
	r.root = container.NewVBox(head, container.NewBorder(nil, nil, indent, nil, body))
	return r
}

// set shows s; busy says which actions are running.
func (r *serverRow) set(s mcpclient.ServerStatus, now time.Time, busy map[busyKey]bool) {
	r.cur = s
	r.dot.FillColor = stateColor(s.State)
	r.dot.Refresh()
	r.url.SetText(s.URL)
	r.state.SetText(StateText(s, now))
	r.details.SetText(Details(s))
	if e := ErrorText(s); e != "" {
		r.lastErr.SetText("Last error: " + e)
		r.lastErr.Show()
	} else {
		r.lastErr.Hide()
	}

	showText(r.auth, AuthText(s, now))
	showText(r.device, DeviceCodeText(s))
	if r.device.Visible() {
		r.copyCode.Show()
	} else {
		r.copyCode.Hide()
	}

	disabled := s.State == mcpclient.StateDisabled
	setEnabled(r.reconnect, !disabled && s.State != mcpclient.StateConnecting && !busy[busyKey{s.Name, "Reconnect"}])

	signBusy := busy[busyKey{s.Name, "Sign in"}] || busy[busyKey{s.Name, "Sign out"}]
	switch action := SignAction(s); {
	case s.State == mcpclient.StateLoggingIn || busy[busyKey{s.Name, "Sign in"}]:
		r.sign.SetText("Signing in…")
		r.sign.SetIcon(theme.LoginIcon())
		r.sign.Show()
	case action == LabelSignIn:
		r.sign.SetText(LabelSignIn)
		r.sign.SetIcon(theme.LoginIcon())
		r.sign.Show()
	case action == LabelSignOut:
		r.sign.SetText(LabelSignOut)
		r.sign.SetIcon(theme.LogoutIcon())
		r.sign.Show()
	default:
		r.sign.Hide()
	}
	r.sign.Importance = widget.MediumImportance
	if s.State == mcpclient.StateNeedsLogin {
		r.sign.Importance = widget.HighImportance
	}
	setEnabled(r.sign, !signBusy)

	if disabled {
		r.toggle.SetText(LabelEnable)
	} else {
		r.toggle.SetText(LabelDisable)
	}
	setEnabled(r.toggle, !busy[busyKey{s.Name, "Enable"}] && !busy[busyKey{s.Name, "Disable"}])
}

func (r *serverRow) tapSign() {
	switch SignAction(r.cur) {
	case LabelSignIn:
		r.u.signIn(r.name)
	case LabelSignOut:
		r.u.signOut(r.name)
	}
}

func (r *serverRow) tapToggle() {
	r.u.setEnabled(r.name, r.cur.State == mcpclient.StateDisabled)
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// stateColor is a server's status dot, matching the tray icon colours.
func stateColor(st mcpclient.State) color.Color {
	switch st {
	case mcpclient.StateConnected:
		return color.NRGBA{0x2e, 0x9e, 0x44, 0xff}
	case mcpclient.StateConnecting, mcpclient.StateLoggingIn:
		return color.NRGBA{0xf2, 0xb1, 0x00, 0xff}
	case mcpclient.StateNeedsLogin:
		return color.NRGBA{0x2f, 0x6f, 0xde, 0xff}
	case mcpclient.StateDisabled:
		return color.NRGBA{0x8a, 0x8a, 0x8a, 0xff}
	}
	return color.NRGBA{0xd9, 0x30, 0x25, 0xff}
}

// showText shows l with text, or hides it for "".
func showText(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}
