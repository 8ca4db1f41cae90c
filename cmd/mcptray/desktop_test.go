package main

// Helpers for tests that run the real mcptray binary on a real display:
// a private Xvfb, a private D-Bus session bus, and a test-side
// StatusNotifierWatcher (what a panel's tray provides) that records the
// item that registers and reads its menu over com.canonical.dbusmenu.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// requireTool finds an executable; when it is missing the test is skipped,
// or fails when real dependencies are required (MCPTRAY_REQUIRE_REAL=1, or
// CI set), as in mcpclient's tests.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; run `make deps`)", name, pkg)
	if requireReal() {
		t.Fatalf("%s [MCPTRAY_REQUIRE_REAL=1 or CI is set, so this fails instead of skipping]", msg)
	}
	t.Skipf("%s [skipped; set MCPTRAY_REQUIRE_REAL=1 to fail instead]", msg)
	return ""
}

func requireReal() bool {
	v, ok := os.LookupEnv("MCPTRAY_REQUIRE_REAL")
	if !ok || v == "" {
		v = os.Getenv("CI")
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// startXvfb starts a private X server on a free display and returns its
// DISPLAY value. Xvfb picks the display itself (-displayfd).
func startXvfb(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "Xvfb", "xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = &limitedBuffer{max: 8 << 10}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { stop(cmd) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatalf("Xvfb did not start: %s", cmd.Stderr)
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not report a display within 20s: %s", cmd.Stderr)
	}
	return ""
}

// startBus starts a private session bus and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "dbus-daemon", "dbus-daemon")
	cmd := exec.Command(bin, "--session", "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &limitedBuffer{max: 8 << 10}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatalf("dbus-daemon did not start: %s", cmd.Stderr)
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatal("dbus-daemon did not print its address within 20s")
	}
	return ""
}

// stop ends a helper process politely, then for good.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds mcptray and mcptray-bridge once per test run and
// returns the directory holding both (the bridge is found beside the hub).
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		buildDir, buildErr = os.MkdirTemp("", "mcptray-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command(goBin, "build", "-o", buildDir+string(filepath.Separator),
			"github.com/mcptray/mcptray/cmd/mcptray", "github.com/mcptray/mcptray/cmd/mcptray-bridge")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// snWatcher plays org.kde.StatusNotifierWatcher on a bus, as a panel
// does, and records the items that register.
type snWatcher struct {
	conn  *dbus.Conn
	items chan snItem
	notes chan [2]string // title, body of org.freedesktop.Notifications.Notify

	mu      sync.Mutex
	lastID  uint32
	actions map[string]noteShown // by title: the newest notification with it
}

// noteShown is a notification as the server handed out its id.
type noteShown struct {
	id      uint32
	actions []string // key, label, key, label…
}

// snItem is a registered StatusNotifierItem: its bus name and object path.
type snItem struct {
	Service string
	Path    dbus.ObjectPath
}

func startWatcher(t *testing.T, addr string) *snWatcher {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &snWatcher{conn: conn, items: make(chan snItem, 16), notes: make(chan [2]string, 16), actions: map[string]noteShown{}}
	const iface = "org.kde.StatusNotifierWatcher"
	if err := conn.Export(watcherMethods{w}, "/StatusNotifierWatcher", iface); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(conn, "/StatusNotifierWatcher", prop.Map{iface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(notifyMethods{w}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{iface, "org.freedesktop.Notifications"} {
		if rep, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || rep != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("own %s: %v %v", name, rep, err)
		}
	}
	return w
}

type watcherMethods struct{ w *snWatcher }

// RegisterStatusNotifierItem is what an app calls to show its tray item;
// service is a bus name or, as Fyne's systray sends, an object path.
func (m watcherMethods) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	it := snItem{Service: string(sender), Path: "/StatusNotifierItem"}
	if strings.HasPrefix(service, "/") {
		it.Path = dbus.ObjectPath(service)
	} else if service != "" {
		it.Service = service
	}
	select {
	case m.w.items <- it:
	default:
	}
	return nil
}

func (m watcherMethods) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

type notifyMethods struct{ w *snWatcher }

func (m notifyMethods) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	m.w.mu.Lock()
	m.w.lastID++
	id := m.w.lastID
	m.w.actions[summary] = noteShown{id: id, actions: actions}
	m.w.mu.Unlock()
	select {
	case m.w.notes <- [2]string{summary, body}:
	default:
	}
	return id, nil
}

func (m notifyMethods) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body", "actions"}, nil
}

// clickNote clicks the newest notification titled title, as a
// notification server reports a click: ActionInvoked with its default
// action, then NotificationClosed (reason 2, dismissed by the user).
func (w *snWatcher) clickNote(t *testing.T, title string) {
	t.Helper()
	w.mu.Lock()
	n, ok := w.actions[title]
	w.mu.Unlock()
	if !ok {
		t.Fatalf("no notification %q was shown", title)
	}
	if !slices.Contains(n.actions, "default") {
		t.Fatalf("notification %q has no default action to click: %q", title, n.actions)
	}
	const path, iface = "/org/freedesktop/Notifications", "org.freedesktop.Notifications"
	if err := w.conn.Emit(path, iface+".ActionInvoked", n.id, "default"); err != nil {
		t.Fatal(err)
	}
	if err := w.conn.Emit(path, iface+".NotificationClosed", n.id, uint32(2)); err != nil {
		t.Fatal(err)
	}
}

func (m notifyMethods) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "mcptray-test", "mcptray", "1", "1.2", nil
}

// waitItem waits for an item to register.
func (w *snWatcher) waitItem(t *testing.T, within time.Duration) snItem {
	t.Helper()
	select {
	case it := <-w.items:
		return it
	case <-time.After(within):
		t.Fatalf("no StatusNotifierItem registered within %s", within)
	}
	return snItem{}
}

// menuNode is one entry of a dbusmenu layout.
type menuNode struct {
	ID       int32
	Label    string
	Enabled  bool
	Checked  bool
	Sep      bool
	Children []menuNode
}

// menu reads the item's whole menu with com.canonical.dbusmenu.GetLayout.
func (w *snWatcher) menu(it snItem) (menuNode, error) {
	var menuPath dbus.ObjectPath
	v, err := w.conn.Object(it.Service, it.Path).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		return menuNode{}, fmt.Errorf("read the item's Menu property: %w", err)
	}
	if err := v.Store(&menuPath); err != nil {
		return menuNode{}, err
	}
	var rev uint32
	var layout []any
	call := w.conn.Object(it.Service, menuPath).Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return menuNode{}, call.Err
	}
	if len(call.Body) != 2 {
		return menuNode{}, fmt.Errorf("GetLayout answered %d values", len(call.Body))
	}
	rev, _ = call.Body[0].(uint32)
	_ = rev
	layout, ok := call.Body[1].([]any)
	if !ok {
		return menuNode{}, fmt.Errorf("GetLayout: layout is %T", call.Body[1])
	}
	return decodeLayout(layout)
}

func decodeLayout(v []any) (menuNode, error) {
	if len(v) != 3 {
		return menuNode{}, fmt.Errorf("layout node has %d fields", len(v))
	}
	n := menuNode{Enabled: true}
	n.ID, _ = v[0].(int32)
	props, _ := v[1].(map[string]dbus.Variant)
	if l, ok := props["label"]; ok {
		n.Label, _ = l.Value().(string)
	}
	if e, ok := props["enabled"]; ok {
		n.Enabled, _ = e.Value().(bool)
	}
	if ts, ok := props["toggle-state"]; ok {
		n.Checked = fmt.Sprint(ts.Value()) == "1"
	}
	if ty, ok := props["type"]; ok {
		s, _ := ty.Value().(string)
		n.Sep = s == "separator"
	}
	children, _ := v[2].([]dbus.Variant)
	for _, c := range children {
		cv, ok := c.Value().([]any)
		if !ok {
			return n, fmt.Errorf("child is %T", c.Value())
		}
		cn, err := decodeLayout(cv)
		if err != nil {
			return n, err
		}
		n.Children = append(n.Children, cn)
	}
	return n, nil
}

// render prints a menu like app.MenuSignature does.
func (n menuNode) render() string {
	var b strings.Builder
	var walk func(n menuNode, depth int)
	walk = func(n menuNode, depth int) {
		for _, c := range n.Children {
			b.WriteString(strings.Repeat("  ", depth))
			if c.Sep {
				b.WriteString("---")
			} else {
				b.WriteString(c.Label)
				if !c.Enabled {
					b.WriteString(" [disabled]")
				}
				if c.Checked {
					b.WriteString(" [checked]")
				}
			}
			b.WriteByte('\n')
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// find returns the first entry with label, depth first.
func (n menuNode) find(label string) (menuNode, bool) {
	for _, c := range n.Children {
		if c.Label == label {
			return c, true
		}
		if f, ok := c.find(label); ok {
			return f, true
		}
	}
	return menuNode{}, false
}

// clickUntil clicks the menu entry labelled label and waits (at most
// within) for done. The app re-numbers the entries whenever the menu
// changes (a retrying server changes it every few seconds), and a click on
// a number that is gone is dropped, as a panel's would be: if done does
// not come and the entry was re-numbered meanwhile, the click is repeated
// with the new number. An entry that kept its number is not clicked again
// (so a toggle is not toggled back).
func (w *snWatcher) clickUntil(ctx context.Context, it snItem, label string, within time.Duration, done func() error) error {
	deadline := time.Now().Add(within)
	for {
		m, err := w.menu(it)
		if err != nil {
			// The item went away: an earlier click may be taking effect
			// (Quit ends the app slowly on a loaded machine).
			if derr := eventually(ctx, time.Until(deadline), done); derr == nil {
				return nil
			}
			return err
		}
		entry, ok := m.find(label)
		if !ok {
			return fmt.Errorf("no %q entry in the menu:\n%s", label, m.render())
		}
		if err := w.click(it, entry.ID); err != nil {
			return err
		}
		err = eventually(ctx, 2*time.Second, done)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if m, merr := w.menu(it); merr == nil {
			if again, ok := m.find(label); ok && again.ID == entry.ID {
				return eventually(ctx, time.Until(deadline), done)
			}
		}
	}
}

// click sends the dbusmenu "clicked" event for an entry, as a panel does.
func (w *snWatcher) click(it snItem, id int32) error {
	var menuPath dbus.ObjectPath
	v, err := w.conn.Object(it.Service, it.Path).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		return err
	}
	if err := v.Store(&menuPath); err != nil {
		return err
	}
	return w.conn.Object(it.Service, menuPath).Call("com.canonical.dbusmenu.Event", 0,
		id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

// iconPixmap reads the item's IconPixmap: ARGB32, network byte order.
func (w *snWatcher) iconPixmap(it snItem) (width, height int32, data []byte, err error) {
	v, err := w.conn.Object(it.Service, it.Path).GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		return 0, 0, nil, err
	}
	var px []struct {
		W, H int32
		Data []byte
	}
	if err := v.Store(&px); err != nil {
		return 0, 0, nil, err
	}
	if len(px) == 0 {
		return 0, 0, nil, fmt.Errorf("no pixmap")
	}
	return px[0].W, px[0].H, px[0].Data, nil
}

// eventually polls f until it returns nil, for at most within.
func eventually(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startKeyring starts gnome-keyring's Secret Service on the test bus, with
// the login keyring created (under home) and unlocked, so that the hub
// keeps credentials in the OS keychain as on a desktop. It exits with the
// bus.
func startKeyring(t *testing.T, bus, home string) {
	t.Helper()
	bin := requireTool(t, "gnome-keyring-daemon", "gnome-keyring")
	cmd := exec.Command(bin, "--unlock", "--components=secrets")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, ".local", "share"))
	cmd.Stdin = strings.NewReader("test-password")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gnome-keyring-daemon: %v\n%s", err, out)
	}
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = eventually(context.Background(), 15*time.Second, func() error {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has); err != nil {
			return err
		}
		if !has {
			return fmt.Errorf("no org.freedesktop.secrets on the bus")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
