package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// upstreams starts the servers the test config names: alpha is a working
// MCP server with two tools, beta answers 401 (needs sign-in), gamma is a
// closed port (retrying); delta's URL names an unset variable (failed) and
// echo is disabled.
func upstreams(t *testing.T) map[string]config.Server {
	t.Helper()
	s := server.NewMCPServer("alpha-test", "1.0.0", server.WithToolCapabilities(true))
	for _, name := range []string{"echo", "add"} {
		s.AddTool(mcp.NewTool(name, mcp.WithDescription(name)), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("ok"), nil
		})
	}
	alpha := httptest.NewServer(server.NewStreamableHTTPServer(s))
	t.Cleanup(alpha.Close)
	beta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(beta.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	return map[string]config.Server{
		"alpha": {URL: alpha.URL + "/mcp", Transport: config.TransportStreamable},
		"beta":  {URL: beta.URL + "/mcp", Transport: config.TransportStreamable},
		"gamma": {URL: "http://" + closed + "/mcp", Transport: config.TransportStreamable},
		"delta": {URL: "https://${env:MCPTRAY_TEST_UNSET_HOST}/mcp"},
		"echo":  {URL: "https://echo.invalid/mcp", Disabled: true},
	}
}

// desktopEnv is a private home, config and state dir, display and bus.
type desktopEnv struct {
	dir, config, home string
	vars              []string
}

func newDesktopEnv(t *testing.T, display, bus string, servers map[string]config.Server) *desktopEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "mcptray-desk-") // short: the socket path must stay under ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	e := &desktopEnv{dir: dir, config: filepath.Join(dir, "config.json"), home: filepath.Join(dir, "state")}
	t.Cleanup(func() {
		// A bridge that outlived its hub starts a detached headless hub:
		// stop whatever hub still answers here before removing its dir.
		if info, err := e.ping(); err == nil && info.PID > 0 && info.PID != os.Getpid() {
			if p, err := os.FindProcess(info.PID); err == nil {
				_ = p.Signal(syscall.SIGTERM)
			}
			_ = eventually(context.Background(), 5*time.Second, func() error { _, err := e.ping(); return errIfNil(err) })
		}
		os.RemoveAll(dir)
	})
	b, err := config.Marshal(&config.Config{Servers: servers})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_CONFIG_HOME",
			"XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "MCPTRAY_HOME", "MCPTRAY_CONFIG", "BROWSER":
			continue
		}
		e.vars = append(e.vars, kv)
	}
	e.vars = append(e.vars, "HOME="+dir, "MCPTRAY_HOME="+e.home, "MCPTRAY_CONFIG="+e.config,
		"BROWSER=true", "LANG=en_US.UTF-8")
	if display != "" {
		e.vars = append(e.vars, "DISPLAY="+display)
	}
	if bus != "" {
		e.vars = append(e.vars, "DBUS_SESSION_BUS_ADDRESS="+bus)
	}
	return e
}

// proc is a started binary with its output kept.
type proc struct {
	cmd    *exec.Cmd
	out    *limitedBuffer
	exited chan struct{}
	err    error
}

func (e *desktopEnv) start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &limitedBuffer{max: 256 << 10}, exited: make(chan struct{})}
	p.cmd.Env = e.vars
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("output of %s %v:\n%s", filepath.Base(bin), args, p.out)
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%v still runs after %s; output:\n%s", p.cmd.Args, within, p.out)
	}
	return p.cmd.ProcessState.ExitCode()
}

// errIfNil inverts an error: nil becomes one, one becomes nil.
func errIfNil(err error) error {
	if err == nil {
		return fmt.Errorf("still there")
	}
	return nil
}

// ping asks the hub in e for its info.
func (e *desktopEnv) ping() (*ipc.HubInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, err := ipc.Request(ctx, paths.Socket(e.home), ipc.Hello{Op: ipc.OpPing})
	if err != nil {
		return nil, err
	}
	return rep.Hub, nil
}

func (e *desktopEnv) status(t *testing.T) mcpclient.StatusReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := ipc.Request(ctx, paths.Socket(e.home), ipc.Hello{Op: ipc.OpStatus})
	if err != nil {
		t.Fatal(err)
	}
	var st mcpclient.StatusReport
	if err := json.Unmarshal(rep.Result, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// expectedMenu is the tray menu for upstreams' servers once they settled.
const expectedMenu = `1 of 4 servers connected (1 disabled) [disabled]
---
alpha — connected
  Reconnect
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
beta — needs sign-in
  Reconnect
  Sign in
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
delta — failed
  Reconnect
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
echo — disabled
  Reconnect [disabled]
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Enable
gamma — retrying
  Reconnect
  Copy bridge command
  Copy HTTP entry (URL and token)
  ---
  Disable
---
Reconnect all
Open mcptray
Open config file
Open logs folder
Start at login
---
Quit
`

// TestTrayRealDisplay runs the real mcptray binary under Xvfb with a
// StatusNotifierItem host and the OS keychain (gnome-keyring) on a private
// session bus: its tray item
// registers, its menu lists the configured servers with their states and
// follows changes, its icon is the PNG for the overall state, it notifies
// the server that needs sign-in, "Open mcptray" maps the window, a second
// `mcptray` only shows that window, and Quit ends it.
func TestTrayRealDisplay(t *testing.T) {
	display := startXvfb(t)
	bus := startBus(t)
	w := startWatcher(t, bus)
	bin := binaries(t)
	e := newDesktopEnv(t, display, bus, upstreams(t))
	startKeyring(t, bus, e.dir) // the tray and go-keyring share the session bus connection
	ctx := context.Background()

	hub := e.start(t, filepath.Join(bin, "mcptray"))
	it := w.waitItem(t, 60*time.Second)
	if st := e.status(t); st.CredentialStore != "keychain" || st.CredentialWarning != "" {
		t.Errorf("credential store %q, warning %q; want the OS keychain", st.CredentialStore, st.CredentialWarning)
	}

	var last string
	err := eventually(ctx, 30*time.Second, func() error {
		m, err := w.menu(it)
		if err != nil {
			return err
		}
		last = m.render()
		if last != expectedMenu {
			return fmt.Errorf("menu differs")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tray menu: %v; last read:\n%s\nwant:\n%s", err, last, expectedMenu)
	}
	checkIcon(t, w, it, assets.TraySignIn)

	select {
	case n := <-w.notes:
		if n[0] != "beta needs sign-in" {
			t.Errorf("notification %q: %q", n[0], n[1])
		}
	case <-time.After(10 * time.Second):
		t.Error("no notification that beta needs sign-in")
	}

	// Sign in from the menu reaches the hub's sign-in: beta's server has no
	// OAuth metadata, so it fails, and with the window hidden the failure
	// comes as a notification.
	m, err := w.menu(it)
	if err != nil {
		t.Fatal(err)
	}
	beta, _ := m.find("beta — needs sign-in")
	signIn, ok := beta.find("Sign in")
	if !ok {
		t.Fatal("no Sign in under beta")
	}
	if err := w.click(it, signIn.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-w.notes:
		if n[0] != "mcptray: Sign in failed" || !strings.HasPrefix(n[1], "Sign in beta failed: ") {
			t.Errorf("notification %q: %q", n[0], n[1])
		}
		t.Logf("sign-in from the tray: %s", n[1])
	case <-time.After(30 * time.Second):
		t.Error("no word on the sign-in started from the tray menu")
	}

	// A click on the "needs sign-in" notification (the notification
	// server's ActionInvoked) starts the sign-in too: it fails the same
	// way, and says so.
	w.clickNote(t, "beta needs sign-in")
	select {
	case n := <-w.notes:
		if n[0] != "mcptray: Sign in failed" || !strings.HasPrefix(n[1], "Sign in beta failed: ") {
			t.Errorf("after the click, notification %q: %q", n[0], n[1])
		}
	case <-time.After(30 * time.Second):
		t.Error("a click on the needs-sign-in notification did not start a sign-in")
	}

	if pid, rss := hub.cmd.Process.Pid, rssKB(hub.cmd.Process.Pid); rss > 0 {
		t.Logf("tray hub (pid %d) resident memory with 5 servers: %d KiB", pid, rss)
	}

	// A config edit shows up in the menu and the icon: beta disabled
	// leaves delta failed and gamma retrying.
	if err := config.Edit(e.config, func(c *config.Config) error {
		sc := c.Servers["beta"]
		sc.Disabled = true
		c.Servers["beta"] = sc
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err = eventually(ctx, 20*time.Second, func() error {
		m, err := w.menu(it)
		if err != nil {
			return err
		}
		last = m.render()
		if _, ok := m.find("beta — disabled"); !ok {
			return fmt.Errorf("beta not disabled")
		}
		if _, ok := m.find("1 of 3 servers connected (2 disabled)"); !ok {
			return fmt.Errorf("summary not updated")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("menu after disabling beta: %v; last read:\n%s", err, last)
	}
	checkIcon(t, w, it, assets.TrayFailing)

	// "Start at login" from the menu writes the autostart entry under the
	// test's HOME (XDG_CONFIG_HOME is unset) and checks the item; a second
	// click removes it.
	startAtLogin(t, w, it, e, filepath.Join(bin, "mcptray"))

	// "Open mcptray" from the menu maps the window.
	if err := w.clickUntil(ctx, it, "Open mcptray", 15*time.Second, func() error { return windowViewable(display, "mcptray") }); err != nil {
		t.Fatal(err)
	}

	// A second mcptray asks this one to show its window and exits.
	second := e.start(t, filepath.Join(bin, "mcptray"))
	if code := second.wait(t, 15*time.Second); code != 0 || !strings.Contains(second.out.String(), "already running") {
		t.Errorf("second mcptray: exit %d, output:\n%s", code, second.out)
	}
	if info, err := e.ping(); err != nil || info.PID != hub.cmd.Process.Pid || info.Mode != "tray" {
		t.Errorf("after the second start: hub %+v, %v", info, err)
	}

	// Quit from the menu ends the app and removes the socket.
	if err := w.clickUntil(ctx, it, "Quit", 20*time.Second, func() error {
		select {
		case <-hub.exited:
			return nil
		default:
			return errors.New("mcptray still runs")
		}
	}); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	if code := hub.wait(t, time.Second); code != 0 {
		t.Errorf("mcptray exited %d after Quit; output:\n%s", code, hub.out)
	}
	if _, err := os.Stat(paths.Socket(e.home)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// startAtLogin turns "Start at login" on and off from the tray menu.
func startAtLogin(t *testing.T, w *snWatcher, it snItem, e *desktopEnv, exe string) {
	t.Helper()
	ctx := context.Background()
	entry := filepath.Join(e.dir, ".config", "autostart", "mcptray.desktop")
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real // the entry names the resolved executable
	}
	for _, on := range []bool{true, false} {
		want := "Start at login"
		if on {
			want += " [checked]"
		}
		var last string
		err := w.clickUntil(ctx, it, "Start at login", 15*time.Second, func() error {
			m, err := w.menu(it)
			if err != nil {
				return err
			}
			last = m.render()
			if !strings.Contains(last, "\n"+want+"\n") {
				return fmt.Errorf("the item is not %q", want)
			}
			b, err := os.ReadFile(entry)
			switch {
			case on && err != nil:
				return err
			case on && !strings.Contains(string(b), "Exec="+exe+"\n"):
				return fmt.Errorf("the entry does not run %s:\n%s", exe, b)
			case !on && !os.IsNotExist(err):
				return fmt.Errorf("the entry is still there (%v)", err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Start at login %v: %v; last menu:\n%s", on, err, last)
		}
	}
}

// checkIcon compares the item's pixmap with the tray PNG for state, as
// Fyne's systray converts it (ARGB, network byte order).
func checkIcon(t *testing.T, w *snWatcher, it snItem, state string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(assets.Tray(state, 64)))
	if err != nil {
		t.Fatal(err)
	}
	want := argb(img)
	err = eventually(context.Background(), 10*time.Second, func() error {
		wd, ht, data, err := w.iconPixmap(it)
		if err != nil {
			return err
		}
		if wd != 64 || ht != 64 || !bytes.Equal(data, want) {
			return fmt.Errorf("the tray icon (%dx%d) is not the %q icon", wd, ht, state)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func argb(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*4)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			out = append(out, byte(a>>8), byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// windowViewable checks with xwininfo that a window titled name is mapped.
func windowViewable(display, name string) error {
	cmd := exec.Command("xwininfo", "-display", display, "-name", name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("xwininfo -name %s: %v: %s", name, err, out)
	}
	if !strings.Contains(string(out), "IsViewable") {
		return fmt.Errorf("window %q is not viewable:\n%s", name, out)
	}
	return nil
}

// rssKB reads a process's resident set size (Linux), 0 when unknown.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestNoDisplayRunsHeadless: with no display, mcptray says so and runs the
// headless hub.
func TestNoDisplayRunsHeadless(t *testing.T) {
	bin := binaries(t)
	e := newDesktopEnv(t, "", "", map[string]config.Server{})
	p := e.start(t, filepath.Join(bin, "mcptray"))
	var info *ipc.HubInfo
	err := eventually(context.Background(), 15*time.Second, func() error {
		var err error
		info, err = e.ping()
		return err
	})
	if err != nil {
		t.Fatalf("no hub answers: %v; output:\n%s", err, p.out)
	}
	if info.Mode != "headless" || info.PID != p.cmd.Process.Pid {
		t.Errorf("hub %+v", info)
	}
	if !strings.Contains(p.out.String(), "no display") {
		t.Errorf("no message about the display:\n%s", p.out)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestHandoverFromHeadless: a bridge works through a headless hub; then
// mcptray starts, the headless hub hands over and exits, and the same
// bridge process (its IDE session untouched) is served by the tray hub.
func TestHandoverFromHeadless(t *testing.T) {
	display := startXvfb(t)
	bus := startBus(t)
	w := startWatcher(t, bus)
	bin := binaries(t)
	servers := upstreams(t)
	e := newDesktopEnv(t, display, bus, map[string]config.Server{"alpha": servers["alpha"]})
	ctx := context.Background()

	headless := e.start(t, filepath.Join(bin, "mcptray"), "serve")
	if err := eventually(ctx, 15*time.Second, func() error { _, err := e.ping(); return err }); err != nil {
		t.Fatalf("headless hub: %v\n%s", err, headless.out)
	}

	ide := startIDE(t, e, filepath.Join(bin, "mcptray-bridge"), "alpha")
	ide.request(t, "initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-ide","version":"1"}}`)
	ide.notify(t, "notifications/initialized")
	if res := ide.request(t, "tools/list", `{}`); !strings.Contains(res, `"echo"`) {
		t.Fatalf("tools/list through the headless hub: %s", res)
	}

	tray := e.start(t, filepath.Join(bin, "mcptray"))
	if code := headless.wait(t, 20*time.Second); code != 0 {
		t.Errorf("headless hub exited %d", code)
	}
	if !strings.Contains(tray.out.String(), "taking over from the headless hub") {
		t.Errorf("tray output:\n%s", tray.out)
	}
	err := eventually(ctx, 20*time.Second, func() error {
		info, err := e.ping()
		if err != nil {
			return err
		}
		if info.Mode != "tray" || info.PID != tray.cmd.Process.Pid {
			return fmt.Errorf("hub is %+v", info)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.waitItem(t, 30*time.Second)

	// The same IDE session goes on through the tray hub.
	if res := ide.request(t, "tools/list", `{}`); !strings.Contains(res, `"add"`) {
		t.Fatalf("tools/list after the handover: %s", res)
	}
	err = eventually(ctx, 10*time.Second, func() error {
		st := e.status(t)
		if len(st.Servers) != 1 || st.Servers[0].Bridges != 1 {
			return fmt.Errorf("status %+v", st.Servers)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	ide.stop() // the IDE goes first, as its hub would be restarted otherwise
}

// ide drives a bridge process as an IDE does: JSON-RPC lines on stdio.
type ide struct {
	in     io.WriteCloser
	out    *bufio.Reader
	nextID int
	stop   func()
}

func startIDE(t *testing.T, e *desktopEnv, bin, server string) *ide {
	t.Helper()
	cmd := exec.Command(bin, server)
	cmd.Env = e.vars
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &limitedBuffer{max: 64 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			in.Close()
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("bridge stderr:\n%s", stderr)
			}
		})
	}
	t.Cleanup(stop)
	return &ide{in: in, out: bufio.NewReader(out), stop: stop}
}

func (c *ide) notify(t *testing.T, method string) {
	t.Helper()
	if _, err := fmt.Fprintf(c.in, `{"jsonrpc":"2.0","method":%q}`+"\n", method); err != nil {
		t.Fatal(err)
	}
}

// request sends a request and returns the raw response line with its id
// (notifications in between are skipped), within 30 s.
func (c *ide) request(t *testing.T, method, params string) string {
	t.Helper()
	c.nextID++
	id := c.nextID
	if _, err := fmt.Fprintf(c.in, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		for {
			line, err := c.out.ReadString('\n')
			if err != nil {
				got <- "read error: " + err.Error()
				return
			}
			var m struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && string(m.ID) == strconv.Itoa(id) {
				got <- line
				return
			}
		}
	}()
	select {
	case line := <-got:
		return line
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer to %s within 30s", method)
	}
	return ""
}

// TestBrokenConfigShowsWindow: when the hub cannot start (the config file
// is not JSON), the tray shows the failing icon and the window opens with
// the reason, instead of exiting silently.
func TestBrokenConfigShowsWindow(t *testing.T) {
	display := startXvfb(t)
	bus := startBus(t)
	w := startWatcher(t, bus)
	bin := binaries(t)
	e := newDesktopEnv(t, display, bus, map[string]config.Server{})
	if err := os.WriteFile(e.config, []byte(`{"mcpServers": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.start(t, filepath.Join(bin, "mcptray"))
	it := w.waitItem(t, 60*time.Second)
	checkIcon(t, w, it, assets.TrayFailing)
	if err := eventually(context.Background(), 15*time.Second, func() error { return windowViewable(display, "mcptray") }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ping(); err == nil {
		t.Error("a hub answers although the config is broken")
	}
	if !strings.Contains(p.out.String(), "not valid JSON") {
		t.Errorf("the log does not say why:\n%s", p.out)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
