package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/mcptray/mcptray/app"
	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// appID is the application ID (FyneApp.toml says the same).
const appID = "dev.mcptray.app"

// handoverWait bounds how long the tray waits for a headless hub to let
// go of the socket.
const handoverWait = 10 * time.Second

// runApp is `mcptray` with no command: the tray app. With no display it
// runs the headless hub; when a hub already runs it asks a tray hub to
// show its window, or takes over from a headless one. It must run on the
// main goroutine (Fyne's event loop).
func runApp(env cli.Env) int {
	ctx := context.Background()
	if !hasDisplay() {
		fmt.Fprintln(env.Stderr, "mcptray: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); running the headless hub instead, as `mcptray serve` does.")
		return cli.Serve(ctx, env, nil)
	}
	home, err := ipc.Home()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
		return 1
	}
	sock := ipc.SocketPath(home)
	if exit, code := existingHub(ctx, env, sock); exit {
		return code
	}
	return runTray(ctx, env, home)
}

// existingHub handles a hub that already answers on sock. A tray hub is
// asked to show its window and this process exits; a headless hub is asked
// to hand over, and once its socket is free this process goes on to start
// the tray hub (bridges re-attach by themselves).
func existingHub(ctx context.Context, env cli.Env, sock string) (exit bool, code int) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	rep, err := ipc.Request(pctx, sock, ipc.Hello{Op: ipc.OpPing})
	cancel()
	if err != nil && rep == nil {
		return false, 0 // nobody home
	}
	pid := 0
	mode := ""
	if rep.Hub != nil {
		pid, mode = rep.Hub.PID, rep.Hub.Mode
	}
	if mode == "tray" {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := ipc.Request(sctx, sock, ipc.Hello{Op: ipc.OpShow}); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray: already running (pid %d), but it did not show its window: %v\n", pid, err)
			return true, 1
		}
		fmt.Fprintf(env.Stderr, "mcptray: already running (pid %d); showing its window.\n", pid)
		return true, 0
	}
	fmt.Fprintf(env.Stderr, "mcptray: taking over from the headless hub (pid %d)…\n", pid)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = ipc.Request(hctx, sock, ipc.Hello{Op: ipc.OpHandover})
	cancel()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: the headless hub (pid %d) refused to hand over: %v\n", pid, err)
		return true, 1
	}
	if err := waitSocketFree(ctx, sock, handoverWait); err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: the headless hub (pid %d) %v; stop it (kill %d) and start mcptray again.\n", pid, err, pid)
		return true, 1
	}
	return false, 0
}

// waitSocketFree polls until nothing answers on sock.
func waitSocketFree(ctx context.Context, sock string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := ipc.Request(pctx, sock, ipc.Hello{Op: ipc.OpPing})
		cancel()
		if errors.Is(err, ipc.ErrNoHub) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("still holds the socket %s after %s", sock, limit)
}

// runTray runs the tray hub and its UI until the user quits.
func runTray(ctx context.Context, env cli.Env, home string) int {
	logw := env.Stderr
	if err := os.MkdirAll(home, 0o700); err == nil {
		if f, err := os.OpenFile(filepath.Join(home, "hub.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			defer f.Close()
			logw = io.MultiWriter(env.Stderr, f)
		}
	}
	log := cli.Logger(logw)

	var ui *app.UI
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{
		Home:   home,
		Logger: log,
		Mode:   "tray",
		OnShow: func() { ui.Show() },
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
		return 1
	}

	a := fyneapp.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.AppIcon()))
	ui = app.New(a, hubAdapter{hub}, app.Options{
		BridgeCommand: bridgeCommand(),
		LogsDir:       home,
		Logger:        log,
	})
	ui.Start()
	if !trayHostPresent() {
		log.Warn("no system tray (StatusNotifierItem host) found; showing the window instead")
		ui.Notice("No system tray was found: closing this window hides it; run mcptray again to bring it back.")
		ui.Show()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hubDone := make(chan error, 1)
	go func() {
		err := hub.Run(ctx)
		hubDone <- err
		if ctx.Err() != nil {
			return // the app is quitting
		}
		if err != nil {
			ui.ShowFatal("The hub could not start: " + err.Error())
			return
		}
		fyne.Do(a.Quit)
	}()

	a.Run()
	cancel()
	ui.Stop()
	select {
	case err := <-hubDone:
		var running *mcpclient.ErrHubRunning
		if errors.As(err, &running) {
			fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
			return 1
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
			return 1
		}
	case <-time.After(10 * time.Second):
		fmt.Fprintln(env.Stderr, "mcptray: the hub did not stop within 10s; exiting anyway")
		return 1
	}
	return 0
}

// hubAdapter gives the UI the hub's API. Login and Logout call the hub's
// own methods once it has them (OAuth support); until then they say so.
type hubAdapter struct{ *mcpclient.Hub }

type loginHub interface {
	Login(ctx context.Context, name string) error
}

type logoutHub interface {
	Logout(ctx context.Context, name string) error
}

// errNoOAuth is what Sign in / Sign out say until the hub can sign in.
var errNoOAuth = errors.New("sign-in arrives with OAuth support")

func (h hubAdapter) Login(ctx context.Context, name string) error {
	if l, ok := any(h.Hub).(loginHub); ok {
		return l.Login(ctx, name)
	}
	return errNoOAuth
}

func (h hubAdapter) Logout(ctx context.Context, name string) error {
	if l, ok := any(h.Hub).(logoutHub); ok {
		return l.Logout(ctx, name)
	}
	return errNoOAuth
}

// ServerConfig reads a server's entry from the config file as it is now.
func (h hubAdapter) ServerConfig(name string) (mcpclient.ServerConfig, error) {
	cfg, err := mcpclient.LoadConfig(h.ConfigPath())
	if err != nil {
		return mcpclient.ServerConfig{}, err
	}
	sc, ok := cfg.Servers[name]
	if !ok {
		return sc, fmt.Errorf("%s is not in %s", name, h.ConfigPath())
	}
	return sc, nil
}

// hasDisplay tells whether a GUI can open. macOS and Windows always have
// one; elsewhere an X11 or Wayland display must be named.
func hasDisplay() bool {
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// bridgeCommand is the bridge executable to put in IDE configs: the one
// beside this executable, else the one on PATH, else the bare name.
func bridgeCommand() string {
	name := "mcptray-bridge"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			p := filepath.Join(filepath.Dir(exe), name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return name
}
