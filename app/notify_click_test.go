package app

import (
	"errors"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/mcpclient"
)

// fakeNotices stands for the desktop's notification server: it records
// what it was asked to show and lets the test click it.
type fakeNotices struct {
	mu    sync.Mutex
	fail  error
	shown []Note
	click []func()
}

func (f *fakeNotices) Notify(title, body string, onClick func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.shown = append(f.shown, Note{Title: title, Content: body})
	f.click = append(f.click, onClick)
	return nil
}

func (f *fakeNotices) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shown)
}

func (f *fakeNotices) clickLast() {
	f.mu.Lock()
	fn := f.click[len(f.click)-1]
	f.mu.Unlock()
	fn() // as the notification server's signal arrives: off the Fyne goroutine
}

// TestNotificationClick: a sign-in notification goes to the desktop's
// notification server with a click that opens the page the hub's sign-in
// waits on (its pending authorization URL); when no sign-in runs, a click
// on "needs sign-in" starts one; other notifications show the window; and
// where no notification server takes it, Fyne shows it.
func TestNotificationClick(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected), server("gh", mcpclient.StateConnected))
	notices := &fakeNotices{}
	var opened []string
	var mu sync.Mutex
	h.ui.opts.Notices = notices
	h.ui.opts.OpenURL = func(u string) error { mu.Lock(); opened = append(opened, u); mu.Unlock(); return nil }
	h.ui.notify = h.ui.send
	openedURLs := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), opened...) }

	const authURL = "https://auth.example.com/authorize?client_id=abc&state=s1"
	jira := server("jira", mcpclient.StateLoggingIn)
	jira.WaitingForSignIn = 1
	jira.Auth = &mcpclient.AuthStatus{SignInURL: authURL}
	h.hub.set(jira, server("gh", mcpclient.StateConnected))
	h.pump("the waiting notification", func() bool { return notices.count() == 1 })
	if got := notices.shown[0].Title; got != "jira is waiting for your sign-in" {
		t.Fatalf("notification %q", got)
	}
	notices.clickLast()
	h.pump("the sign-in page opened", func() bool { return len(openedURLs()) == 1 })
	if got := openedURLs()[0]; got != authURL {
		t.Fatalf("opened %q, want the pending authorization URL", got)
	}

	// No sign-in runs for gh: the click starts one.
	h.hub.set(jira, server("gh", mcpclient.StateNeedsLogin))
	h.pump("the needs-sign-in notification", func() bool { return notices.count() == 2 })
	notices.clickLast()
	h.waitCall("login gh")

	// Any other notification shows the window.
	h.ui.hide()
	h.ui.send(recoveredNote("gh"))
	notices.clickLast()
	h.pump("the window shown", func() bool { return h.ui.visible })

	// No notification server: Fyne shows it.
	notices.fail = errors.New("no server")
	test.AssertNotificationSent(t, fyne.NewNotification("gh is connected again", recoveredNote("gh").Content), func() {
		h.ui.send(recoveredNote("gh"))
	})
}
