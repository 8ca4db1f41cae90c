// Package cli implements the mcptray subcommands that do not need the UI:
// serve (the headless hub), bridge, and the control-API clients status,
// reconnect, tools and call. Each command takes its args and streams and
// returns an exit code, so tests run them without a terminal.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/bridge"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/logfile"
)

// Env is what a command runs with.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env Env, args []string) int
}

// Commands lists the subcommands in help order.
func Commands() []Command {
	return []Command{
		{"serve", "run the hub headless (no tray); bridges start it on demand", Serve},
		{"bridge", "stdio bridge for an IDE: mcptray bridge NAME (same as mcptray-bridge)", Bridge},
		{"status", "show every server's state (--json for machines)", Status},
		{"reconnect", "rebuild a server's session now: reconnect NAME | --all", Reconnect},
		{"tools", "list a server's tools: tools NAME [--json]", Tools},
		{"call", "call a tool: call NAME TOOL [JSON-ARGS]", Call},
		{"login", "sign in to a server: login NAME [--no-browser] (browser, device code, or paste the redirect URL back)", Login},
		{"logout", "sign out of a server and delete its credentials: logout NAME", Logout},
		{"client-metadata", "print the OAuth client ID metadata document to host at clientMetadataUrl: client-metadata [--url URL]", ClientMetadata},
		{"secret", "keep a secret for ${secret:NAME} in the config: secret set NAME | list | rm NAME", Secret},
		{"http-token", "the token IDEs send to the hub's HTTP endpoint: http-token [show | rotate]", HTTPToken},
		{"add", "add a server: add NAME URL [--header 'Name: value']... [--transport T]", Add},
		{"remove", "remove a server: remove NAME", Remove},
		{"list", "list the configured servers and which clients launch them", List},
		{"install", "point a client at a server: install NAME --client C [--dry-run]", Install},
		{"uninstall", "remove a server from a client: uninstall NAME --client C", Uninstall},
		{"import", "take over remote servers from clients: import [--from C | FILE] [--replace] [--dry-run]", Import},
		{"doctor", "check the setup and each server, say what to fix: doctor [NAME]", Doctor},
		{"logs", "print the hub's log: logs [NAME] [-f]", Logs},
		{"autostart", "start mcptray at login: autostart on|off|status", Autostart},
		{"version", "print the version", Version},
	}
}

// Usage prints the command list.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mcptray [COMMAND] [ARGS]")
	fmt.Fprintln(w, "\nWith no command, mcptray starts the tray app (or the headless hub when there is no display).")
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range Commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nEnvironment: MCPTRAY_CONFIG (config file), MCPTRAY_HOME (state dir: socket, logs).")
}

// Dispatch runs the named command; ok is false when there is none.
func Dispatch(ctx context.Context, env Env, name string, args []string) (code int, ok bool) {
	for _, c := range Commands() {
		if c.Name == name {
			return c.Run(ctx, env, args), true
		}
	}
	return 0, false
}

// Logger builds the hub's logger: text to w, level from MCPTRAY_LOG_LEVEL.
func Logger(w io.Writer) *slog.Logger {
	lvl := slog.LevelInfo
	switch strings.ToLower(os.Getenv("MCPTRAY_LOG_LEVEL")) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// Serve runs the headless hub until SIGINT/SIGTERM.
func Serve(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("mcptray serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfgPath := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	secrets := logfile.NewSecrets()
	log, closeLog := HubLogger(env.Stderr, secrets)
	defer closeLog()
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: *cfgPath, Logger: log, Mode: "headless", Secrets: secrets})
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray serve: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := hub.Run(ctx); err != nil {
		var running *mcpclient.ErrHubRunning
		if errors.As(err, &running) {
			fmt.Fprintf(env.Stderr, "mcptray serve: %v; nothing to do.\n", err)
			return 1
		}
		fmt.Fprintf(env.Stderr, "mcptray serve: %v\n", err)
		return 1
	}
	return 0
}

// Bridge is `mcptray bridge NAME`.
func Bridge(ctx context.Context, env Env, args []string) int {
	return bridge.Main(args, env.Stdin, env.Stdout, env.Stderr)
}

// Version prints the version.
func Version(ctx context.Context, env Env, args []string) int {
	fmt.Fprintf(env.Stdout, "mcptray %s\n", mcpclient.Version)
	return 0
}

// client is the hub's control client for command cmd; when there is none
// it says why and returns nil.
func client(env Env, cmd string) *ipc.Client {
	c, err := ipc.DefaultClient("mcptray " + cmd)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray %s: %v\n", cmd, err)
		return nil
	}
	return c
}

// showWaits makes c print on stderr what a request held for a sign-in
// waits for (stdout stays the result, for scripts).
func showWaits(env Env, c *ipc.Client) {
	if c == nil {
		return
	}
	c.OnWait = func(w ipc.Wait) {
		fmt.Fprintf(env.Stderr, "mcptray: %s…\n", w.Message)
		if dc := w.DeviceCode; dc != nil && dc.VerificationURIComplete != "" {
			fmt.Fprintf(env.Stderr, "  or open %s, which has the code filled in\n", dc.VerificationURIComplete)
		}
	}
}

// control runs one control request with c, bounded by timeout; its error
// is printed with the command name.
func control(ctx context.Context, env Env, cmd string, c *ipc.Client, timeout time.Duration, do func(context.Context) error) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := do(ctx)
	if err == nil {
		return true
	}
	if errors.Is(err, ipc.ErrNoHub) {
		fmt.Fprintf(env.Stderr, "mcptray %s: no hub is running (socket %s). Start it with `mcptray` or `mcptray serve`.\n", cmd, c.Socket)
	} else {
		fmt.Fprintf(env.Stderr, "mcptray %s: %v\n", cmd, err)
	}
	return false
}

// Status prints the servers' states.
func Status(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("mcptray status", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	c := client(env, "status")
	if c == nil {
		return 1
	}
	var st mcpclient.StatusReport
	var hub *ipc.HubInfo
	if !control(ctx, env, "status", c, 10*time.Second, func(ctx context.Context) (err error) {
		hub, err = c.Status(ctx, &st)
		return err
	}) {
		return 1
	}
	if *asJSON {
		out := struct {
			Hub *ipc.HubInfo `json:"hub"`
			mcpclient.StatusReport
		}{hub, st}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		return 0
	}
	WriteStatus(env.Stdout, hub, st, time.Now())
	return 0
}

// WriteStatus renders the status table.
func WriteStatus(w io.Writer, hub *ipc.HubInfo, st mcpclient.StatusReport, now time.Time) {
	if hub != nil {
		fmt.Fprintf(w, "hub: pid %d, %s, version %s, config %s\n", hub.PID, hub.Mode, hub.Version, st.Config)
	}
	if st.CredentialStore != "" {
		fmt.Fprintf(w, "credentials: %s\n", st.CredentialStore)
	}
	if st.CredentialWarning != "" {
		fmt.Fprintf(w, "warning: %s\n", st.CredentialWarning)
	}
	if st.ConfigError != "" {
		fmt.Fprintf(w, "config edit rejected (running the previous config): %s\n", st.ConfigError)
	}
	writeHTTPStatus(w, st.HTTP) // cli_http.go
	if len(st.Servers) == 0 {
		fmt.Fprintf(w, "no servers configured; add one under mcpServers in %s\n", st.Config)
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tSINCE\tTOOLS\tBRIDGES\tHTTP\tTRANSPORT\tPROTOCOL\tLAST ERROR")
	for _, s := range st.Servers {
		state := string(s.State)
		if s.SignedIn {
			state += " (signed in)"
		}
		if s.State == mcpclient.StateBackoff && !s.NextAttempt.IsZero() {
			state += fmt.Sprintf(" (retry in %s)", roundDur(s.NextAttempt.Sub(now)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Name, state, roundDur(now.Sub(s.Since)),
			s.Tools, s.Bridges, s.HTTPClients, dash(s.Transport), dash(protocolText(s)), dash(oneLine(s.LastError, 100)))
	}
	tw.Flush()
	printAuth(w, st.Servers, now) // cli_login.go
}

// protocolText is the protocol version with its era: "2026-07-28
// (modern)", "2025-11-25 (legacy)".
func protocolText(s mcpclient.ServerStatus) string {
	if s.ProtocolVersion == "" || s.Era == "" {
		return s.ProtocolVersion
	}
	return s.ProtocolVersion + " (" + s.Era + ")"
}

func roundDur(d time.Duration) time.Duration {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// Reconnect asks the hub to rebuild a server's session.
func Reconnect(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("mcptray reconnect", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	all := fs.Bool("all", false, "reconnect every server")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if (*all && fs.NArg() != 0) || (!*all && fs.NArg() != 1) {
		fmt.Fprintln(env.Stderr, "usage: mcptray reconnect NAME | --all")
		return 2
	}
	c := client(env, "reconnect")
	if c == nil || !control(ctx, env, "reconnect", c, 10*time.Second, func(ctx context.Context) error {
		if *all {
			return c.ReconnectAll(ctx)
		}
		return c.Reconnect(ctx, fs.Arg(0))
	}) {
		return 1
	}
	if *all {
		fmt.Fprintln(env.Stdout, "reconnecting every server")
	} else {
		fmt.Fprintf(env.Stdout, "reconnecting %s\n", fs.Arg(0))
	}
	return 0
}

// Tools lists a server's tools.
func Tools(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("mcptray tools", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print the raw tools/list result")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray tools NAME [--json]")
		return 2
	}
	c := client(env, "tools")
	showWaits(env, c)
	var res json.RawMessage
	// As long as a call: the hub bounds the request, and holds it while
	// the server waits for a sign-in (signInWait).
	if c == nil || !control(ctx, env, "tools", c, 10*time.Minute, func(ctx context.Context) (err error) {
		res, err = c.Tools(ctx, fs.Arg(0))
		return err
	}) {
		return 1
	}
	if *asJSON {
		fmt.Fprintln(env.Stdout, string(res))
		return 0
	}
	var r struct {
		Tools []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tools"`
	}
	_ = json.Unmarshal(res, &r)
	sort.Slice(r.Tools, func(i, j int) bool { return r.Tools[i].Name < r.Tools[j].Name })
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	for _, t := range r.Tools {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, oneLine(t.Description, 90))
	}
	tw.Flush()
	return 0
}

// Call calls one tool and prints the raw result.
func Call(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("mcptray call", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fmt.Fprintln(env.Stderr, "usage: mcptray call NAME TOOL ['{\"arg\":\"value\"}']")
		return 2
	}
	var toolArgs json.RawMessage
	if fs.NArg() == 3 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(fs.Arg(2)), &obj); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray call: the arguments must be a JSON object, e.g. '{\"text\":\"hi\"}': %v\n", err)
			return 2
		}
		toolArgs = json.RawMessage(fs.Arg(2))
	}
	c := client(env, "call")
	showWaits(env, c)
	var res json.RawMessage
	if c == nil || !control(ctx, env, "call", c, 10*time.Minute, func(ctx context.Context) (err error) {
		res, err = c.Call(ctx, fs.Arg(0), fs.Arg(1), toolArgs)
		return err
	}) {
		return 1
	}
	fmt.Fprintln(env.Stdout, string(res))
	var r struct {
		IsError bool `json:"isError"`
	}
	if json.Unmarshal(res, &r) == nil && r.IsError {
		return 1
	}
	return 0
}

// parseArgs parses flags wherever they stand among the positional args
// ("tools NAME --json" as well as "tools --json NAME"); "--" ends flags.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("mcptray "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}
