package app

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"maps"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

// fakeHub is an in-memory hub: tests set its snapshot and read the
// actions the UI asked for.
type fakeHub struct {
	mu       sync.Mutex
	snap     []mcpclient.ServerStatus
	cfgErr   string
	servers  map[string]config.Server
	subs     map[chan struct{}]bool
	calls    []string
	called   chan string
	block    chan struct{} // when set, actions wait on it
	loginErr error
	editErr  error // EditConfig fails with it
	// secretVals is the credential store's named secrets.
	secretVals map[string]string
}

func newFakeHub(snap ...mcpclient.ServerStatus) *fakeHub {
	h := &fakeHub{servers: map[string]config.Server{}, subs: map[chan struct{}]bool{}, called: make(chan string, 100)}
	for _, s := range snap {
		h.servers[s.Name] = config.Server{URL: s.URL, Transport: config.TransportAuto}
	}
	h.snap = snap
	return h
}

func (h *fakeHub) set(snap ...mcpclient.ServerStatus) {
	h.mu.Lock()
	h.snap = snap
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

func (h *fakeHub) record(call string) {
	h.mu.Lock()
	block := h.block
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	h.called <- call
	if block != nil {
		<-block
	}
}

func (h *fakeHub) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func (h *fakeHub) Snapshot(withEvents bool) []mcpclient.ServerStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]mcpclient.ServerStatus(nil), h.snap...)
	if !withEvents {
		for i := range out {
			out[i].Events = nil
		}
	}
	return out
}

func (h *fakeHub) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = true
	h.mu.Unlock()
	return ch, func() { h.mu.Lock(); delete(h.subs, ch); h.mu.Unlock() }
}

func (h *fakeHub) Reconnect(name string, all bool) error {
	if all {
		h.record("reconnect --all")
	} else {
		h.record("reconnect " + name)
	}
	return nil
}

func (h *fakeHub) Login(ctx context.Context, name string, onURL func(string)) error {
	onURL("https://auth.example.com/authorize?client_id=abc&state=xyz")
	h.record("login " + name)
	return h.loginErr
}

func (h *fakeHub) Logout(ctx context.Context, name string) error {
	h.record("logout " + name)
	return nil
}

func (h *fakeHub) SetEnabled(name string, enabled bool) error {
	h.record(fmt.Sprintf("enable %s %v", name, enabled))
	return nil
}

func (h *fakeHub) EditConfig(fn func(*config.Config) error) error {
	if h.editErr != nil {
		h.record("edit failed")
		return h.editErr
	}
	h.mu.Lock()
	cfg := &config.Config{Servers: maps.Clone(h.servers)}
	h.mu.Unlock()
	if err := fn(cfg); err != nil {
		return err
	}
	for name, sc := range cfg.Servers {
		if err := config.ValidateServer(h.ConfigPath(), name, sc); err != nil {
			return err
		}
	}
	h.mu.Lock()
	h.servers = cfg.Servers
	h.mu.Unlock()
	h.record("edit")
	return nil
}

func (h *fakeHub) ServerConfig(name string) (config.Server, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc, ok := h.servers[name]
	if !ok {
		return sc, errors.New("no such server")
	}
	return sc, nil
}

func (h *fakeHub) SetSecret(name, value string) error {
	h.mu.Lock()
	if h.secretVals == nil {
		h.secretVals = map[string]string{}
	}
	h.secretVals[name] = value
	h.mu.Unlock()
	h.record("set secret " + name)
	return nil
}

func (h *fakeHub) HasSecret(name string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.secretVals[name]
	return ok, nil
}

func (h *fakeHub) ConfigPath() string { return "/home/user/.config/mcptray/config.json" }

func (h *fakeHub) HTTPStatus() mcpclient.HTTPStatus {
	return mcpclient.HTTPStatus{Enabled: true, URL: "http://127.0.0.1:24817/mcp", Sessions: 1}
}

func (h *fakeHub) HTTPEntry(name string) (string, string, error) {
	h.record("http-entry " + name)
	return "http://127.0.0.1:24817/mcp/" + name, "mcptray_TOKEN", nil
}

func (h *fakeHub) ConfigError() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfgErr
}

// fakeAutostart is the autostart setting in memory; changes are recorded
// as the hub's calls ("autostart true"), so they wait on its block too.
type fakeAutostart struct {
	hub     *fakeHub
	mu      sync.Mutex
	on      bool
	setErr  error // SetEnabled fails with it, changing nothing
	readErr error // Enabled fails with it
}

func (a *fakeAutostart) Enabled() (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.on, a.readErr
}

func (a *fakeAutostart) SetEnabled(on bool) error {
	a.hub.record(fmt.Sprintf("autostart %v", on))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.setErr != nil {
		return a.setErr
	}
	a.on = on
	return nil
}

func (a *fakeAutostart) set(on bool) {
	a.mu.Lock()
	a.on = on
	a.mu.Unlock()
}

func (a *fakeAutostart) isOn() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.on
}

// fakeTray records what the UI shows in the tray.
type fakeTray struct {
	menus []*fyne.Menu
	icons []string
}

func (t *fakeTray) SetSystemTrayMenu(m *fyne.Menu)    { t.menus = append(t.menus, m) }
func (t *fakeTray) SetSystemTrayIcon(r fyne.Resource) { t.icons = append(t.icons, r.Name()) }

// harness runs a UI on Fyne's test driver. UI work the UI hands to
// fyne.Do is queued and run on the test goroutine by pump, as the real
// driver runs it on its own goroutine.
type harness struct {
	t     *testing.T
	hub   *fakeHub
	ui    *UI
	tray  *fakeTray
	queue chan func()
	notes []Note
	opens []string
}

// now is the tests' fixed clock.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, snap ...mcpclient.ServerStatus) *harness {
	t.Helper()
	return newHarnessWith(t, nil, snap...)
}

// newHarnessWith is newHarness with "Start at login" backed by as (when
// not nil); the UI reads its state as it starts.
func newHarnessWith(t *testing.T, as *fakeAutostart, snap ...mcpclient.ServerStatus) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &harness{t: t, hub: newFakeHub(snap...), tray: &fakeTray{}, queue: make(chan func(), 1000)}
	opts := Options{
		BridgeCommand: "/opt/mcptray/mcptray-bridge",
		LogsDir:       "/home/user/.local/state/mcptray",
		Now:           func() time.Time { return now },
		OpenPath:      func(p string) error { h.hub.record("open " + p); return nil },
	}
	if as != nil {
		as.hub = h.hub
		opts.Autostart = as
	}
	h.ui = New(a, h.hub, opts)
	h.ui.do = func(f func()) { h.queue <- f }
	h.ui.notify = func(n Note) { h.notes = append(h.notes, n) }
	h.ui.tray = h.tray
	h.ui.Start()
	t.Cleanup(h.ui.Stop)
	h.ui.win.Resize(fyne.NewSize(900, 600))
	return h
}

// pump runs queued UI work until cond holds, failing after 5 s.
func (h *harness) pump(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// drain runs the UI work queued so far.
func (h *harness) drain() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

// waitCall waits for the hub to be asked for call.
func (h *harness) waitCall(want string) {
	h.t.Helper()
	h.pump(want, func() bool {
		for _, c := range h.hub.Calls() {
			if c == want {
				return true
			}
		}
		return false
	})
}

func (h *harness) row(name string) *serverRow {
	h.t.Helper()
	r := h.ui.view.rows[name]
	if r == nil {
		h.t.Fatalf("no row for %s", name)
	}
	return r
}

// buttons finds the buttons with a label on the window's canvas,
// overlays (dialogs) included.
func buttons(c fyne.Canvas, label string) []*widget.Button {
	var out []*widget.Button
	roots := []fyne.CanvasObject{c.Content()}
	roots = append(roots, c.Overlays().List()...)
	for _, root := range roots {
		for _, o := range test.LaidOutObjects(root) {
			if b, ok := o.(*widget.Button); ok && b.Text == label && b.Visible() {
				out = append(out, b)
			}
		}
	}
	return out
}

// server builds a status for tests.
func server(name string, st mcpclient.State) mcpclient.ServerStatus {
	s := mcpclient.ServerStatus{
		Name: name, URL: "https://" + name + ".example.com/mcp", State: st,
		Since: now.Add(-3 * time.Minute),
	}
	switch st {
	case mcpclient.StateConnected:
		s.Tools, s.Bridges, s.Transport, s.SignedIn = 12, 2, "streamable-http", true
	case mcpclient.StateBackoff:
		s.LastError = "connection refused"
		s.NextAttempt = now.Add(20 * time.Second)
	case mcpclient.StateFailed:
		s.LastError = "bad config: url: environment variable JIRA_HOST is not set; fix the config file"
	case mcpclient.StateNeedsLogin:
		s.LastError = "the server requires a sign-in: 401 Unauthorized"
	case mcpclient.StateDisabled:
		s.Disabled = true
	}
	return s
}

// allStates is one server per state, sorted by name as the hub sorts.
func allStates() []mcpclient.ServerStatus {
	return []mcpclient.ServerStatus{
		server("a-connected", mcpclient.StateConnected),
		server("b-connecting", mcpclient.StateConnecting),
		server("c-needs-login", mcpclient.StateNeedsLogin),
		server("d-logging-in", mcpclient.StateLoggingIn),
		server("e-backoff", mcpclient.StateBackoff),
		server("f-failed", mcpclient.StateFailed),
		server("g-disabled", mcpclient.StateDisabled),
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}
