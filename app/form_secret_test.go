package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

// TestFormSecretHeader: a secret header's value is typed masked, stored
// through the hub, and the config gets only ${secret:…}; the edit form
// says it is set without showing it, and keeps it unless replaced.
func TestFormSecretHeader(t *testing.T) {
	const value = "Bearer SECRET-typed-in-the-form"
	h := newHarness(t, server("jira", mcpclient.StateConnected))
	f := openAdd(t, h)
	if !f.secretValue.Password {
		t.Fatal("the secret value is not a password entry")
	}
	test.Type(f.name, "gh")
	test.Type(f.url, "https://api.example.com/mcp")
	test.Type(f.secretHeader, "Authorization")
	if want := "Secret value: type the value of Authorization."; f.message.Text != want || !f.save.Disabled() {
		t.Errorf("without a value: message %q, save enabled %v", f.message.Text, !f.save.Disabled())
	}
	test.Type(f.headers, "authorization: x")
	if !strings.Contains(f.message.Text, "given twice") {
		t.Errorf("the same header twice: %q", f.message.Text)
	}
	f.headers.SetText("X-Team: platform")
	test.Type(f.secretValue, value)
	if f.message.Text != "" || f.save.Disabled() {
		t.Fatalf("valid entry rejected: %q", f.message.Text)
	}
	test.Tap(f.save)
	h.waitCall("set secret gh-Authorization")
	h.waitCall("edit")
	sc, err := h.hub.ServerConfig("gh")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Headers["Authorization"] != "${secret:gh-Authorization}" || sc.Headers["X-Team"] != "platform" {
		t.Errorf("saved headers %v", sc.Headers)
	}
	if b, _ := json.Marshal(sc); strings.Contains(string(b), "SECRET") {
		t.Errorf("the value is in the config: %s", b)
	}
	if ok, _ := h.hub.HasSecret("gh-Authorization"); !ok || h.hub.secretVals["gh-Authorization"] != value {
		t.Fatal("the value was not stored")
	}

	// Edit: the secret is shown as set, not shown.
	h.hub.set(server("gh", mcpclient.StateConnected), server("jira", mcpclient.StateConnected))
	h.pump("the gh row", func() bool { return h.ui.view.rows["gh"] != nil })
	test.Tap(h.row("gh").edit)
	h.pump("the edit form", func() bool { return h.ui.form != nil && h.ui.form.editing == "gh" })
	f = h.ui.form
	if f.secretHeader.Text != "Authorization" || f.secretValue.Text != "" ||
		!strings.Contains(f.secretValue.PlaceHolder, "set (secret gh-Authorization)") || strings.Contains(f.headers.Text, "Authorization") {
		t.Errorf("edit form: header %q value %q placeholder %q headers %q", f.secretHeader.Text, f.secretValue.Text, f.secretValue.PlaceHolder, f.headers.Text)
	}
	f.url.SetText("https://api.example.com/mcp/v2")
	if f.save.Disabled() {
		t.Fatalf("edit rejected: %q", f.message.Text)
	}
	before := len(h.hub.Calls())
	test.Tap(f.save)
	h.pump("a second edit", func() bool { return slices.Contains(h.hub.Calls()[before:], "edit") })
	for _, c := range h.hub.Calls()[before:] {
		if strings.HasPrefix(c, "set secret") {
			t.Error("an edit that did not touch the secret stored it again")
		}
	}
	if sc, _ := h.hub.ServerConfig("gh"); sc.Headers["Authorization"] != config.SecretRef("gh-Authorization") || sc.URL != "https://api.example.com/mcp/v2" {
		t.Errorf("after the edit: %+v", sc)
	}
}
