package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/mcptray/mcptray/app"
	"github.com/mcptray/mcptray/assets"
	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/cmd/mcptray/internal/desknote"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/autostart"
	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !hasDisplay() {
		fmt.Fprintln(env.Stderr, "mcptray: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); running the headless hub instead, as `mcptray serve` does.")
		return cli.Serve(ctx, env, nil)
	}
	home, err := paths.Home()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
		return 1
	}
	sock := paths.Socket(home)
	// The hub adds the secrets it learns; the UI's log lines lose them too.
	secrets := logfile.NewSecrets()
	log, closeLog := cli.HubLogger(env.Stderr, secrets) // hub.log in the state dir, and stderr
	defer closeLog()

	var ui atomic.Pointer[app.UI]
	opts := mcpclient.HubOptions{
		Home:    home,
		Logger:  log,
		Secrets: secrets,
		Mode:    "tray",
		OnShow: func() {
			if u := ui.Load(); u != nil {
				u.Show()
			}
		},
	}
	// The hub takes the socket before the UI starts: bridges that lost a
	// headless hub re-attach within milliseconds, and start a headless hub
	// of their own when none answers. Should one win the race anyway, it is
	// asked to hand over in turn.
	var hub *mcpclient.Hub
	var hubDone <-chan error
	for attempt := 1; ; attempt++ {
		if exit, code := existingHub(ctx, env, sock); exit {
			return code
		}
		hub, hubDone, err = startHub(ctx, opts)
		var running *mcpclient.ErrHubRunning
		if errors.As(err, &running) && attempt < maxTakeovers {
			log.Info("another hub took the socket first; asking it to hand over", "err", err)
			continue
		}
		break
	}
	if hub == nil {
		fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
		return 1
	}
	var running *mcpclient.ErrHubRunning
	if errors.As(err, &running) {
		fmt.Fprintf(env.Stderr, "mcptray: %v\n", err)
		return 1
	}
	return runUI(env, hub, hubDone, err, cancel, log, home, &ui)
}

// maxTakeovers bounds how often the tray asks a headless hub to hand over
// before it gives up.
const maxTakeovers = 4

// existingHub handles a hub that already answers on sock. A tray hub is
// asked to show its window and this process exits; a headless hub is asked
// to hand over, and once it has exited this process goes on to start the
// tray hub (bridges re-attach by themselves).
func existingHub(ctx context.Context, env cli.Env, sock string) (exit bool, code int) {
	client := ipc.NewClient(sock, "mcptray tray")
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	hub, err := client.Ping(pctx)
	cancel()
	var answered *ipc.Error
	if errors.As(err, &answered) {
		hub, err = answered.Hub, nil // a hub is there, though it refused the ping
	}
	if err != nil {
		return false, 0 // nobody home
	}
	pid := 0
	mode := ""
	if hub != nil {
		pid, mode = hub.PID, hub.Mode
	}
	if mode == "tray" {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := client.Show(sctx); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray: already running (pid %d), but it did not show its window: %v\n", pid, err)
			return true, 1
		}
		fmt.Fprintf(env.Stderr, "mcptray: already running (pid %d); showing its window.\n", pid)
		return true, 0
	}
	fmt.Fprintf(env.Stderr, "mcptray: taking over from the headless hub (pid %d)…\n", pid)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = client.Handover(hctx)
	cancel()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: the headless hub (pid %d) refused to hand over: %v\n", pid, err)
		return true, 1
	}
	if err := waitHubGone(ctx, sock, pid, handoverWait); err != nil {
		fmt.Fprintf(env.Stderr, "mcptray: the headless hub (pid %d) %v; stop it (kill %d) and start mcptray again.\n", pid, err, pid)
		return true, 1
	}
	return false, 0
}

// waitHubGone polls until nothing answers on sock and the hub's process
// has exited (it holds the single-instance lock until then).
func waitHubGone(ctx context.Context, sock string, pid int, limit time.Duration) error {
	client := ipc.NewClient(sock, "mcptray tray")
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := client.Ping(pctx)
		cancel()
		if errors.Is(err, ipc.ErrNoHub) && !processAlive(pid) {
			return nil
		}
		var unsafe *ipc.UnsafeError
		if errors.As(err, &unsafe) {
			return err // not ours to wait for
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("still runs %s after it was asked to hand over", limit)
}

// startHub runs a hub and returns once it serves on its socket, or with
// the error that stopped it (another hub running, a broken config file).
func startHub(ctx context.Context, opts mcpclient.HubOptions) (*mcpclient.Hub, <-chan error, error) {
	hub, err := mcpclient.NewHub(opts)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	deadline := time.Now().Add(hubStartWait)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("the hub stopped as it started")
			}
			return hub, nil, err
		case <-time.After(20 * time.Millisecond):
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		info, err := ipc.NewClient(hub.Socket(), "mcptray tray").Ping(pctx)
		cancel()
		if err == nil && info != nil && info.PID == os.Getpid() {
			return hub, done, nil
		}
	}
	return hub, nil, fmt.Errorf("the hub did not answer on %s within %s", hub.Socket(), hubStartWait)
}

// hubStartWait bounds how long the hub may take to serve on its socket.
const hubStartWait = 15 * time.Second

// runUI runs the tray icon and window until the user quits. startErr is
// why the hub is not running, if it is not: the window then says so.
func runUI(env cli.Env, hub *mcpclient.Hub, hubDone <-chan error, startErr error, stopHub func(),
	log *slog.Logger, home string, uiPtr *atomic.Pointer[app.UI]) int {
	a := fyneapp.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.AppIcon()))
	// Notifications go to the desktop's notification server where one
	// runs, so that a click on a sign-in notification opens its page.
	notices := desknote.New(desknote.Options{Logger: log})
	defer notices.Close()
	ui := app.New(a, hubAdapter{hub}, app.Options{
		BridgeCommand: bridgeCommand(),
		LogsDir:       home,
		Logger:        log,
		Autostart:     loginAutostart{},
		Notices:       notices,
		OpenURL: func(url string) error {
			return auth.DefaultOpenBrowser(context.Background(), url)
		},
	})
	ui.Start()
	uiPtr.Store(ui)
	switch {
	case startErr != nil:
		log.Error("the hub could not start", "err", startErr)
		ui.ShowFatal("The hub could not start: " + startErr.Error())
	case !trayHostPresent():
		log.Warn("no system tray (StatusNotifierItem host) found; showing the window instead")
		ui.Notice("No system tray was found: closing this window hides it; run mcptray again to bring it back.")
		ui.Show()
	}

	quitting := make(chan struct{})
	if hubDone != nil {
		go func() {
			select {
			case err := <-hubDone:
				if err != nil {
					ui.ShowFatal("The hub stopped: " + err.Error())
					return
				}
				fyne.Do(ui.Quit)
			case <-quitting:
			}
		}()
	}

	a.Run()
	close(quitting)
	ui.Stop()
	stopHub()
	if hubDone == nil {
		if startErr != nil {
			fmt.Fprintf(env.Stderr, "mcptray: %v\n", startErr)
			return 1
		}
		return 0
	}
	select {
	case err := <-hubDone:
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

// hubAdapter gives the UI the hub's API, plus the config entry of one
// server for the edit form.
type hubAdapter struct{ *mcpclient.Hub }

// ServerConfig reads a server's entry from the config file as it is now.
func (h hubAdapter) ServerConfig(name string) (config.Server, error) {
	cfg, err := config.Load(h.ConfigPath())
	if err != nil {
		return config.Server{}, err
	}
	sc, ok := cfg.Servers[name]
	if !ok {
		return sc, fmt.Errorf("%s is not in %s", name, h.ConfigPath())
	}
	return sc, nil
}

// loginAutostart is "Start at login": the OS entry that starts this
// executable (with no arguments: the tray app) at login, as `mcptray
// autostart on|off` manages it.
type loginAutostart struct{}

func (loginAutostart) Enabled() (bool, error) {
	st, err := autostart.Check()
	return st.Enabled, err
}

func (loginAutostart) SetEnabled(on bool) error {
	if !on {
		_, err := autostart.Disable()
		return err
	}
	exe, err := autostart.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program: %w", err)
	}
	_, err = autostart.Enable(exe, nil)
	return err
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

// bridgeCommand is the bridge executable to put in IDE configs, found as
// `mcptray install` finds it (paths.Sibling), else the bare name.
func bridgeCommand() string {
	if p, err := paths.Sibling(paths.BridgeName); err == nil {
		return p
	}
	return paths.BridgeName
}
