package app

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// serverForm adds or edits one server. It validates as the user types,
// with the config file's own rules (config.ValidateServer), and saves
// through the hub's EditConfig, which writes the file atomically.
type serverForm struct {
	u       *UI
	editing string        // "" when adding, else the server's name
	base    config.Server // fields the form does not show are kept

	name, url, headers, clientID, scopes *widget.Entry
	transport                            *widget.Select
	// A header whose value is a secret: its name, and its value in a
	// password entry. The value goes to the credential store (hub.SetSecret)
	// and the config gets ${secret:NAME}; an edit shows only whether one
	// is set.
	secretHeader, secretValue *widget.Entry
	secretName                string // the secret the entry refers to already, if any
	message                   *widget.Label
	save, cancel              *widget.Button
	dlg                       dialog.Dialog

	touched bool
	saving  bool
}

// Transports offered by the form, as the config file spells them.
var formTransports = []string{config.TransportAuto, config.TransportStreamable, config.TransportSSE}

func (u *UI) openAddForm() {
	u.newServerForm("", config.Server{Transport: config.TransportAuto}).show()
}

// secretHeaderOf finds the header whose whole value is a ${secret:NAME}
// (the first by name): the form shows it in the secret fields.
func secretHeaderOf(h map[string]string) (header, secret string) {
	for _, k := range sortedKeys(h) {
		refs := config.SecretRefs(config.Server{Headers: map[string]string{k: h[k]}})
		if len(refs) == 1 && h[k] == config.SecretRef(refs[0]) {
			return k, refs[0]
		}
	}
	return "", ""
}

// openEditForm reads the server's entry off the Fyne goroutine, then
// shows the form.
func (u *UI) openEditForm(name string) {
	go func() {
		sc, err := u.hub.ServerConfig(name)
		set, serr := false, error(nil)
		if _, secret := secretHeaderOf(sc.Headers); err == nil && secret != "" {
			set, serr = u.hub.HasSecret(secret)
		}
		u.do(func() {
			if err != nil {
				u.report("Edit", name, err)
				return
			}
			f := u.newServerForm(name, sc)
			f.showSecretState(set, serr)
			f.show()
		})
	}()
}

func (u *UI) newServerForm(editing string, sc config.Server) *serverForm {
	f := &serverForm{u: u, editing: editing, base: sc}
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("jira")
	f.name.SetText(editing)
	f.url = widget.NewEntry()
	f.url.SetPlaceHolder("https://mcp.example.com/mcp")
	f.url.SetText(sc.URL)
	f.transport = widget.NewSelect(formTransports, nil)
	f.transport.SetSelected(orDefault(sc.Transport, config.TransportAuto))
	f.headers = widget.NewMultiLineEntry()
	f.headers.SetPlaceHolder("X-Team: platform\nAuthorization: Bearer ${env:JIRA_TOKEN}")
	f.headers.SetMinRowsVisible(3)
	f.secretHeader = widget.NewEntry()
	f.secretHeader.SetPlaceHolder("optional: e.g. Authorization")
	f.secretValue = widget.NewPasswordEntry()
	f.secretValue.SetPlaceHolder("e.g. Bearer … (kept in the keychain, not in the config file)")
	plain := sc.Headers
	if k, secret := secretHeaderOf(sc.Headers); k != "" {
		plain = maps.Clone(sc.Headers)
		delete(plain, k)
		f.secretHeader.SetText(k)
		f.secretName = secret
	}
	f.headers.SetText(formatHeaders(plain))
	f.clientID = widget.NewEntry()
	f.clientID.SetPlaceHolder("optional: a pre-registered OAuth client")
	f.scopes = widget.NewEntry()
	f.scopes.SetPlaceHolder("optional: scopes, separated by spaces")
	if sc.OAuth != nil {
		f.clientID.SetText(sc.OAuth.ClientID)
		f.scopes.SetText(strings.Join(sc.OAuth.Scopes, " "))
	}
	f.message = widget.NewLabel("")
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Importance = widget.DangerImportance
	f.save = widget.NewButton("Save", f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = widget.NewButton("Cancel", func() { f.dlg.Hide() })

	changed := func(string) { f.touched = true; f.check() }
	for _, e := range []*widget.Entry{f.name, f.url, f.headers, f.secretHeader, f.secretValue, f.clientID, f.scopes} {
		e.OnChanged = changed
	}
	f.transport.OnChanged = changed

	form := widget.NewForm(
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("URL", f.url),
		widget.NewFormItem("Transport", f.transport),
		widget.NewFormItem("Headers", f.headers),
		widget.NewFormItem("Secret header", f.secretHeader),
		widget.NewFormItem("Secret value", f.secretValue),
		widget.NewFormItem("OAuth client ID", f.clientID),
		widget.NewFormItem("OAuth scopes", f.scopes),
	)
	buttons := container.NewHBox(layout.NewSpacer(), f.cancel, f.save)
	content := container.NewVBox(form, f.message, buttons)
	title := "Add a server"
	if editing != "" {
		title = "Edit " + editing
	}
	f.dlg = dialog.NewCustomWithoutButtons(title, content, u.win)
	f.check()
	return f
}

// showSecretState says, in the secret value's placeholder, whether the
// secret the entry refers to is stored, without showing it.
func (f *serverForm) showSecretState(set bool, err error) {
	if f.secretName == "" {
		return
	}
	switch {
	case err != nil:
		f.secretValue.SetPlaceHolder("cannot tell whether " + f.secretName + " is set: " + err.Error())
	case set:
		f.secretValue.SetPlaceHolder("set (secret " + f.secretName + "); type to replace it")
	default:
		f.secretValue.SetPlaceHolder("not set (secret " + f.secretName + "): type the value")
	}
}

func (f *serverForm) show() {
	f.u.form = f
	f.dlg.Resize(fyne.NewSize(580, 0))
	f.dlg.Show()
	f.u.win.Canvas().Focus(f.name)
}

// check validates the fields, shows the first problem (once the user has
// typed something) and enables Save only for a valid entry.
func (f *serverForm) check() bool {
	_, _, err := f.entry()
	// The message line keeps its place when empty, so that the form does
	// not jump under the pointer as the user types.
	if err != nil && f.touched {
		f.message.SetText(err.Error())
	} else {
		f.message.SetText("")
	}
	setEnabled(f.save, err == nil && !f.saving)
	return err == nil
}

// entry builds the server's name and config from the fields, or says in
// words what is wrong.
func (f *serverForm) entry() (string, config.Server, error) {
	name := strings.TrimSpace(f.name.Text)
	sc := f.base
	sc.URL = strings.TrimSpace(f.url.Text)
	sc.Transport = f.transport.Selected
	if name == "" {
		return "", sc, errors.New("Name is required: letters, digits, '.', '_' or '-', e.g. jira.")
	}
	if name != f.editing {
		for _, s := range f.u.snap {
			if s.Name == name {
				return "", sc, fmt.Errorf("A server named %q already exists.", name)
			}
		}
	}
	h, err := parseHeaders(f.headers.Text)
	if err != nil {
		return "", sc, err
	}
	if k := strings.TrimSpace(f.secretHeader.Text); k != "" {
		for existing := range h {
			if strings.EqualFold(existing, k) {
				return "", sc, fmt.Errorf("Headers: %s is given twice (once as the secret header).", k)
			}
		}
		if f.secretName == "" && f.secretValue.Text == "" {
			return "", sc, fmt.Errorf("Secret value: type the value of %s.", k)
		}
		if strings.ContainsAny(f.secretValue.Text, "\r\n") {
			return "", sc, errors.New("Secret value must be one line.")
		}
		if h == nil {
			h = map[string]string{}
		}
		h[k] = config.SecretRef(f.secretNameFor(name, k))
	} else if f.secretValue.Text != "" {
		return "", sc, errors.New("Secret header: name the header the secret value goes in, e.g. Authorization.")
	}
	sc.Headers = h
	sc.OAuth = formOAuth(f.base.OAuth, strings.TrimSpace(f.clientID.Text), strings.Fields(strings.ReplaceAll(f.scopes.Text, ",", " ")))
	if err := config.ValidateServer(f.u.hub.ConfigPath(), name, sc); err != nil {
		return "", sc, errors.New(FormError(err))
	}
	return name, sc, nil
}

// submit saves off the Fyne goroutine; the form stays open with the
// message if the hub refuses.
func (f *serverForm) submit() {
	if f.saving || !f.check() {
		return
	}
	name, sc, _ := f.entry()
	f.saving = true
	f.save.Disable()
	editing := f.editing
	secret, value := "", f.secretValue.Text
	if k := strings.TrimSpace(f.secretHeader.Text); k != "" && value != "" {
		secret = f.secretNameFor(name, k)
	}
	go func() {
		var err error
		if secret != "" {
			// First the secret, then the config that refers to it: the
			// hub applies the config at once.
			err = f.u.hub.SetSecret(secret, value)
		}
		if err == nil {
			err = f.editConfig(name, editing, sc)
		}
		f.u.do(func() {
			f.saving = false
			if err != nil {
				f.check()
				f.message.SetText("Not saved: " + FormError(err))
				return
			}
			f.dlg.Hide()
			f.u.view.setStatus("Saved "+name+" to "+f.u.hub.ConfigPath()+".", false)
		})
	}()
}

// secretNameFor is the secret the header's value is kept in: the one the
// entry refers to already, else SERVER-HEADER.
func (f *serverForm) secretNameFor(server, header string) string {
	if f.secretName != "" {
		return f.secretName
	}
	return config.SecretNameFor(server, header)
}

// editConfig writes the entry into the config file through the hub.
func (f *serverForm) editConfig(name, editing string, sc config.Server) error {
	return f.u.hub.EditConfig(func(c *config.Config) error {
		if c.Servers == nil {
			c.Servers = map[string]config.Server{}
		}
		if _, exists := c.Servers[name]; exists && name != editing {
			return fmt.Errorf("a server named %q already exists", name)
		}
		if editing != "" && editing != name {
			delete(c.Servers, editing)
		}
		c.Servers[name] = sc
		return nil
	})
}

func (u *UI) confirmRemove(name string) {
	msg := fmt.Sprintf("Remove %s from the config file?\nIDEs that use it get an error until it is added again.", name)
	dialog.NewConfirm("Remove "+name, msg, func(ok bool) {
		if !ok {
			return
		}
		u.run(name, "Remove", func() error {
			return u.hub.EditConfig(func(c *config.Config) error {
				if _, ok := c.Servers[name]; !ok {
					return fmt.Errorf("%s is no longer in the config file", name)
				}
				delete(c.Servers, name)
				return nil
			})
		})
	}, u.win).Show()
}

// FormError is a config validation error as the form shows it: the field
// by its label, then what is wrong, without the file path.
func FormError(err error) string {
	var fe *config.FileError
	if !errors.As(err, &fe) {
		return err.Error()
	}
	label := fieldLabel(fe.Field)
	if label == "" {
		return strings.ToUpper(fe.Msg[:1]) + fe.Msg[1:] + "."
	}
	return label + " " + fe.Msg + "."
}

func fieldLabel(field string) string {
	switch {
	case field == "":
		return ""
	case field == "url":
		return "URL"
	case field == "transport" || field == "type":
		return "Transport"
	case field == "headers":
		return "Headers"
	case strings.HasPrefix(field, "headers."):
		return "Header " + strings.TrimPrefix(field, "headers.")
	case field == "oauth.clientId":
		return "OAuth client ID"
	case field == "oauth.scopes":
		return "OAuth scopes"
	case strings.HasPrefix(field, "oauth."):
		return "OAuth " + strings.TrimPrefix(field, "oauth.")
	case field == "protocolVersion":
		return "Protocol version"
	}
	return field
}

// parseHeaders reads "Name: value" lines; blank lines are skipped.
func parseHeaders(text string) (map[string]string, error) {
	var h map[string]string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("Headers: line %d must look like “Name: value”.", i+1)
		}
		if h == nil {
			h = map[string]string{}
		}
		if _, dup := h[k]; dup {
			return nil, fmt.Errorf("Headers: %s is given twice.", k)
		}
		h[k] = v
	}
	return h, nil
}

func formatHeaders(h map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(h) {
		fmt.Fprintf(&b, "%s: %s\n", k, h[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// formOAuth merges the form's OAuth fields into the entry's: settings the
// form does not show (client secret, callback port, resource) are kept.
func formOAuth(base *config.OAuth, clientID string, scopes []string) *config.OAuth {
	var o config.OAuth
	if base != nil {
		o = *base
	}
	o.ClientID, o.Scopes = clientID, scopes
	if o.ClientID == "" && len(o.Scopes) == 0 && o.ClientSecret == "" && o.CallbackPort == 0 && o.Resource == "" {
		return nil
	}
	return &o
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
