package app

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/mcptray/mcptray/mcpclient"
)

// openHistory shows a server's last state events (the hub keeps 100),
// newest first. The snapshot with events is taken off the Fyne goroutine.
func (u *UI) openHistory(name string) {
	go func() {
		var events []mcpclient.Event
		for _, s := range u.hub.Snapshot(true) {
			if s.Name == name {
				events = s.Events
			}
		}
		u.do(func() { u.showHistory(name, events) })
	}()
}

func (u *UI) showHistory(name string, events []mcpclient.Event) {
	d := dialog.NewCustom("History of "+name, "Close", historyView(events), u.win)
	d.Resize(fyne.NewSize(680, 440))
	d.Show()
}

// historyView lists events newest first: time, state, reason.
func historyView(events []mcpclient.Event) fyne.CanvasObject {
	if len(events) == 0 {
		return widget.NewLabel("No events yet.")
	}
	rows := container.NewVBox()
	for _, e := range slices.Backward(events) {
		when := widget.NewLabel(e.Time.Format("Jan 2 15:04:05"))
		when.Importance = widget.LowImportance
		state := widget.NewLabelWithStyle(StateLabel(e.State), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		reason := widget.NewLabel(e.Reason)
		reason.Wrapping = fyne.TextWrapWord
		rows.Add(container.NewBorder(nil, nil, container.NewHBox(when, state), nil, reason))
	}
	return container.NewVScroll(rows)
}
