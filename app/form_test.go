package app

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

func openAdd(t *testing.T, h *harness) *serverForm {
	t.Helper()
	test.Tap(h.ui.view.add)
	f := h.ui.form
	if f == nil || f.editing != "" {
		t.Fatal("Add server opened no add form")
	}
	return f
}

// TestAddFormRejectsBadInput types into the Add form and checks the
// message a user sees, field by field, and that Save stays disabled.
func TestAddFormRejectsBadInput(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	cases := []struct {
		name, url, headers string
		want               string
	}{
		{"", "https://x.example.com/mcp", "", "Name is required: letters, digits, '.', '_' or '-', e.g. jira."},
		{"my server", "https://x.example.com/mcp", "", "A server name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."},
		{"jira", "https://x.example.com/mcp", "", `A server named "jira" already exists.`},
		{"linear", "", "", "URL is required (the server's MCP endpoint, e.g. https://mcp.example.com/mcp)."},
		{"linear", "ftp://mcp.linear.app", "", `URL must start with https:// or http:// (got "ftp://mcp.linear.app").`},
		{"linear", "https://", "", `URL has no host (got "https://").`},
		{"linear", "https://mcp.linear.app/sse", "X-Team platform", "Headers: line 1 must look like “Name: value”."},
		{"linear", "https://mcp.linear.app/sse", "Bad Header: x", "Header Bad Header is not a valid HTTP header name."},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			f := openAdd(t, h)
			test.Type(f.name, c.name)
			test.Type(f.url, c.url)
			test.Type(f.headers, c.headers)
			if f.message.Text != c.want {
				t.Errorf("message = %q, want %q", f.message.Text, c.want)
			}
			if !f.save.Disabled() {
				t.Error("Save is enabled for a bad entry")
			}
			f.dlg.Hide()
		})
	}
}

// TestAddFormSaves: a valid entry enables Save, which writes the config
// through the hub and closes the form.
func TestAddFormSaves(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	f := openAdd(t, h)
	if f.message.Text != "" || !f.save.Disabled() {
		t.Error("an untouched form shows an error or allows Save")
	}
	test.Type(f.name, "linear")
	test.Type(f.url, "https://mcp.linear.app/sse")
	f.transport.SetSelected(config.TransportSSE)
	test.Type(f.headers, "X-Team: platform")
	test.Type(f.scopes, "read, write")
	if f.message.Text != "" || f.save.Disabled() {
		t.Fatalf("valid entry rejected: %q", f.message.Text)
	}
	test.Tap(f.save)
	h.waitCall("edit")
	h.pump("the form to close", func() bool { return h.ui.win.Canvas().Overlays().Top() == nil })
	sc, err := h.hub.ServerConfig("linear")
	if err != nil {
		t.Fatal(err)
	}
	if sc.URL != "https://mcp.linear.app/sse" || sc.Transport != "sse" || sc.Headers["X-Team"] != "platform" ||
		sc.OAuth == nil || strings.Join(sc.OAuth.Scopes, " ") != "read write" {
		t.Errorf("saved %+v (oauth %+v)", sc, sc.OAuth)
	}
	if !strings.HasPrefix(h.ui.view.status.Text, "Saved linear") {
		t.Errorf("status = %q", h.ui.view.status.Text)
	}
}

// TestSaveFailureStaysInForm: when the hub refuses the edit, the form
// stays open and says why.
func TestSaveFailureStaysInForm(t *testing.T) {
	h := newHarness(t)
	h.hub.editErr = errors.New("cannot write /home/user/.config/mcptray/config.json: read-only file system")
	f := openAdd(t, h)
	test.Type(f.name, "linear")
	test.Type(f.url, "https://mcp.linear.app/sse")
	test.Tap(f.save)
	h.waitCall("edit failed")
	want := "Not saved: cannot write /home/user/.config/mcptray/config.json: read-only file system"
	h.pump("the message", func() bool { return f.message.Text == want })
	if h.ui.win.Canvas().Overlays().Top() == nil {
		t.Error("the form closed")
	}
	if f.save.Disabled() {
		t.Error("Save stays disabled after a failed save")
	}
}

// TestEditFormKeepsHiddenFields edits a server whose entry has settings
// the form does not show, renames it, and checks they survive.
func TestEditFormKeepsHiddenFields(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	h.hub.servers["jira"] = config.Server{
		URL: "https://mcp.atlassian.com/v1/sse", Transport: "auto", ProtocolVersion: "2025-06-18",
		OAuth: &config.OAuth{ClientID: "abc", ClientSecret: "s3cret", CallbackPort: 33418},
	}
	test.Tap(h.row("jira").edit)
	h.pump("the edit form", func() bool { return h.ui.form != nil && h.ui.form.editing == "jira" })
	f := h.ui.form
	if f.url.Text != "https://mcp.atlassian.com/v1/sse" || f.clientID.Text != "abc" {
		t.Fatalf("form shows url %q client %q", f.url.Text, f.clientID.Text)
	}
	f.name.SetText("atlassian")
	if f.save.Disabled() {
		t.Fatalf("rename rejected: %q", f.message.Text)
	}
	test.Tap(f.save)
	h.waitCall("edit")
	if _, err := h.hub.ServerConfig("jira"); err == nil {
		t.Error("the old name is still in the config")
	}
	sc, err := h.hub.ServerConfig("atlassian")
	if err != nil {
		t.Fatal(err)
	}
	if sc.ProtocolVersion != "2025-06-18" || sc.OAuth == nil || sc.OAuth.ClientSecret != "s3cret" || sc.OAuth.CallbackPort != 33418 {
		t.Errorf("hidden fields lost: %+v %+v", sc, sc.OAuth)
	}
}

func TestRemoveAsksThenEdits(t *testing.T) {
	h := newHarness(t, server("jira", mcpclient.StateConnected), server("linear", mcpclient.StateConnected))
	test.Tap(h.row("jira").remove)
	yes := buttons(h.ui.win.Canvas(), "Yes")
	if len(yes) != 1 {
		t.Fatalf("%d Yes buttons in the confirmation", len(yes))
	}
	test.Tap(yes[0])
	h.waitCall("edit")
	if _, err := h.hub.ServerConfig("jira"); err == nil {
		t.Error("jira is still configured")
	}
	if _, err := h.hub.ServerConfig("linear"); err != nil {
		t.Error("linear was removed too")
	}
}

func TestFormError(t *testing.T) {
	t.Parallel()
	cases := map[string]error{
		"URL is required.":                         &config.FileError{Path: "/c.json", Server: "x", Field: "url", Msg: "is required"},
		"Header X-A must not contain line breaks.": &config.FileError{Path: "/c.json", Server: "x", Field: "headers.X-A", Msg: "must not contain line breaks"},
		"OAuth callbackPort must be a port.":       &config.FileError{Field: "oauth.callbackPort", Msg: "must be a port"},
		"Must be an object.":                       &config.FileError{Msg: "must be an object"},
		"plain":                                    errors.New("plain"),
	}
	for want, err := range cases {
		if got := FormError(err); got != want {
			t.Errorf("FormError(%v) = %q, want %q", err, got, want)
		}
	}
}
