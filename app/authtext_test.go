package app

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
)

// TestDeviceCodeCopy: a pending device sign-in shows its code in the
// server's row with a button that copies it; the auth health line says
// what is held, never a token.
func TestDeviceCodeCopy(t *testing.T) {
	now := time.Now()
	s := server("jira", mcpclient.StateLoggingIn)
	s.Auth = &mcpclient.AuthStatus{RefreshToken: false, Registration: auth.RegistrationMetadataDocument,
		DeviceCode: &auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: "https://auth.example.com/device"}}
	h := newHarness(t, s)
	r := h.row("jira")
	h.pump("the code", func() bool { return r.device.Visible() && r.copyCode.Visible() })
	if !strings.Contains(r.device.Text, "WDJB-MJHT") || !strings.Contains(r.device.Text, "https://auth.example.com/device") {
		t.Errorf("device line %q", r.device.Text)
	}
	test.Tap(r.copyCode)
	if got := h.ui.app.Clipboard().Content(); got != "WDJB-MJHT" {
		t.Errorf("clipboard = %q", got)
	}
	s.Auth = &mcpclient.AuthStatus{SignedIn: true, RefreshToken: true, Registration: auth.RegistrationDynamic,
		AccessTokenExpiry: now.Add(time.Hour), LastRefresh: now.Add(-time.Minute)}
	if got := AuthText(s, now); !strings.Contains(got, "Signed in") || !strings.Contains(got, "refresh token held") ||
		!strings.Contains(got, "client: dynamic") || !strings.Contains(got, "expires in 1h") || !strings.Contains(got, "refreshed 1m0s ago") {
		t.Errorf("AuthText = %q", got)
	}
}

// TestTrayDeviceCode: the tray menu shows a pending device sign-in's code
// in the server's submenu, with "Copy code" that copies it; the items go
// when the sign-in ends.
func TestTrayDeviceCode(t *testing.T) {
	s := server("jira", mcpclient.StateLoggingIn)
	s.Auth = &mcpclient.AuthStatus{DeviceCode: &auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: "https://auth.example.com/device"}}
	h := newHarness(t, s)
	sub := item(t, h.lastMenu(), ServerLabel(s)).ChildMenu
	info := item(t, sub, "Enter the code WDJB-MJHT at https://auth.example.com/device")
	if !info.Disabled {
		t.Error("the code's line is a menu action")
	}
	copyItem := item(t, sub, LabelCopyCode+" WDJB-MJHT")
	copyItem.Action() // the tray calls it on its own goroutine; the UI runs it on Fyne's
	h.pump("the copied code", func() bool { return h.ui.app.Clipboard().Content() == "WDJB-MJHT" })

	s.State, s.Auth = mcpclient.StateConnected, &mcpclient.AuthStatus{SignedIn: true}
	h.hub.set(s)
	h.pump("the menu without the code", func() bool {
		return !strings.Contains(MenuSignature(h.lastMenu()), "WDJB-MJHT")
	})
}
