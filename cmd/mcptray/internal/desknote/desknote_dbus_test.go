//go:build linux || freebsd || openbsd || netbsd

package desknote

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestClickWithDunst: a notification sent to a real notification server
// (Debian's dunst, on a private Xvfb display and a private session bus)
// carries a default action; invoking it the way a click does (`dunstctl
// action`, which makes dunst emit ActionInvoked) runs the notification's
// click function, once.
func TestClickWithDunst(t *testing.T) {
	dunst := requireTool(t, "dunst", "dunst")
	dunstctl := requireTool(t, "dunstctl", "dunst")
	display := startXvfb(t)
	addr := startBus(t)
	cmd := exec.Command(dunst)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "DBUS_SESSION_BUS_ADDRESS="+addr,
		"XDG_CONFIG_HOME="+t.TempDir(), "WAYLAND_DISPLAY=")
	var dlog lockedBuf
	cmd.Stdout, cmd.Stderr = &dlog, &dlog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	waitOwner(t, addr, busName, &dlog)

	n := New(Options{Address: addr})
	t.Cleanup(func() { n.Close() })
	clicked := make(chan string, 4)
	if err := n.Notify("jira is waiting for your sign-in", "Click to open the sign-in page.", func() { clicked <- "jira" }); err != nil {
		t.Fatalf("Notify: %v\ndunst: %s", err, dlog.String())
	}
	// dunst shows it (a notification waits while none is displayed yet).
	waitFor(t, "dunst to display the notification", func() bool {
		out, _ := ctl(dunstctl, addr, "count", "displayed")
		return out == "1"
	})
	if out, err := ctl(dunstctl, addr, "action", "0"); err != nil {
		t.Fatalf("dunstctl action: %v: %s", err, out)
	}
	select {
	case who := <-clicked:
		if who != "jira" {
			t.Fatalf("clicked %q", who)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no click reported within 20s\ndunst: %s", dlog.String())
	}
	// The click closed it; the function is forgotten and runs once.
	waitFor(t, "the notification's click function to be forgotten", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.pending) == 0
	})
	select {
	case <-clicked:
		t.Fatal("the click function ran twice")
	case <-time.After(100 * time.Millisecond):
	}

	// A notification without a click function still shows, with no action.
	if err := n.Notify("jira is connected again", "", nil); err != nil {
		t.Fatalf("Notify without a click: %v", err)
	}
}

// TestNoNotificationServer: with no notification server on the bus, or
// no bus at all, Notify returns ErrUnavailable (the caller falls back to
// Fyne's notification) and starts nothing.
func TestNoNotificationServer(t *testing.T) {
	addr := startBus(t)
	n := New(Options{Address: addr})
	defer n.Close()
	if err := n.Notify("t", "b", func() {}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Notify with no server: %v, want ErrUnavailable", err)
	}
	gone := New(Options{Address: "unix:path=" + filepath.Join(t.TempDir(), "no-bus")})
	defer gone.Close()
	if err := gone.Notify("t", "b", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Notify with no bus: %v, want ErrUnavailable", err)
	}
	n.Close()
	if err := n.Notify("t", "b", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Notify after Close: %v", err)
	}
}

func ctl(dunstctl, addr string, args ...string) (string, error) {
	c := exec.Command(dunstctl, args...)
	c.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr)
	out, err := c.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func waitOwner(t *testing.T, addr, name string, log *lockedBuf) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err == nil && has {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing owns %s within 20s: %s", name, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// busConfig is a private session bus with no service activation, so that
// no notification server starts behind the test's back.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBus starts a private session bus and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "dbus-daemon", "dbus-daemon")
	dir, err := os.MkdirTemp("", "dn") // short: socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuf
	cmd.Stderr = &errb
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
			t.Fatalf("dbus-daemon did not start: %s", errb.String())
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatal("dbus-daemon did not print its address within 20s")
	}
	return ""
}

// startXvfb starts a private X server and returns its DISPLAY value.
func startXvfb(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "Xvfb", "xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var errb lockedBuf
	cmd.Stderr = &errb
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
			t.Fatalf("Xvfb did not start: %s", errb.String())
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not report a display within 20s: %s", errb.String())
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

// requireTool finds an executable; when it is missing the test is
// skipped, or fails when real dependencies are required
// (MCPTRAY_REQUIRE_REAL=1, or CI set).
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; run `make deps`)", name, pkg)
	v, ok := os.LookupEnv("MCPTRAY_REQUIRE_REAL")
	if !ok || v == "" {
		v = os.Getenv("CI")
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		t.Skipf("%s [skipped; set MCPTRAY_REQUIRE_REAL=1 to fail instead]", msg)
	}
	t.Fatalf("%s [MCPTRAY_REQUIRE_REAL=1 or CI is set, so this fails instead of skipping]", msg)
	return ""
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 64<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
