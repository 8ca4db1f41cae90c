package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// configPath is --config, else MCPTRAY_CONFIG, else the user config dir.
func configPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	return config.DefaultPath()
}

// readConfig reads the config without creating it; a missing file is an
// empty config.
func readConfig(path string) (*config.Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &config.Config{Path: path, Servers: map[string]config.Server{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: cannot read it: %w", path, err)
	}
	return config.Parse(path, b)
}

// clientTargets resolves a comma-separated --client/--from value.
func clientTargets(list string) ([]ideconfig.Target, error) {
	var out []ideconfig.Target
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		c, err := ideconfig.ClientByID(id)
		if err != nil {
			return nil, err
		}
		t, err := c.Target(ideconfig.OSEnv())
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("name a client (%s)", strings.Join(ideconfig.ClientIDs(), ", "))
	}
	return out, nil
}

func bridgePath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	p, err := paths.Sibling(paths.BridgeName)
	if err != nil {
		return "", fmt.Errorf("%w; build it (make build) or pass --bridge PATH", err)
	}
	return p, nil
}

func clientName(t ideconfig.Target) string {
	if c, err := ideconfig.ClientByID(t.Client); err == nil {
		return c.Name
	}
	return t.Path
}

// ideFlags are the flags install and uninstall share.
type ideFlags struct {
	client, bridge, config string
	dryRun, force, http    bool
}

func (f *ideFlags) register(fs *flag.FlagSet, install bool) {
	fs.StringVar(&f.client, "client", "", "the client(s) to edit, comma-separated: "+strings.Join(ideconfig.ClientIDs(), ", "))
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the change as a diff; write nothing")
	if install {
		fs.BoolVar(&f.force, "force", false, "overwrite an entry of that name that does not use mcptray")
		fs.StringVar(&f.bridge, "bridge", "", "the mcptray-bridge to launch (default: beside mcptray, else on PATH)")
		fs.StringVar(&f.config, "config", "", "mcptray config file (default: $MCPTRAY_CONFIG or the user config dir)")
		fs.BoolVar(&f.http, "http", false, "write a url entry for the hub's loopback HTTP endpoint (with its token) instead of launching the bridge")
	} else {
		fs.BoolVar(&f.force, "force", false, "remove the entry even if it does not use mcptray")
	}
}

// Install writes an entry that launches mcptray-bridge NAME into a
// client's config.
func Install(ctx context.Context, env Env, args []string) int {
	fs := newFlags("install", env)
	var f ideFlags
	f.register(fs, true)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || f.client == "" {
		fmt.Fprintf(env.Stderr, "usage: mcptray install NAME --client %s [--http] [--dry-run] [--force]\n", strings.Join(ideconfig.ClientIDs(), "|"))
		return 2
	}
	name := fs.Arg(0)
	if clean, changed := ideconfig.SanitizeName(name); changed {
		fmt.Fprintf(env.Stderr, "mcptray install: %q is not a valid server name (try %q)\n", name, clean)
		return 2
	}
	targets, err := clientTargets(f.client)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 2
	}
	if p, err := configPath(f.config); err == nil {
		if cfg, err := readConfig(p); err == nil {
			if _, ok := cfg.Servers[name]; !ok {
				fmt.Fprintf(env.Stderr, "note: %s is not in the mcptray config (%s) yet: add it with `mcptray add %s URL`\n", name, p, name)
			}
		}
	}
	if f.http {
		return installHTTP(env, name, targets, f) // cli_http.go
	}
	bridge, err := bridgePath(f.bridge)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 1
	}
	code := 0
	for _, t := range targets {
		ch, err := ideconfig.Install(t, name, bridge, []string{name}, ideconfig.Options{Force: f.force, DryRun: f.dryRun})
		if err != nil {
			reportInstallError(env.Stderr, t, err)
			code = 1
			continue
		}
		reportChange(env.Stdout, ch, f.dryRun, fmt.Sprintf("%s now launches %s %s; restart %s (or reload its MCP servers) to use it", name, bridge, name, clientName(t)))
	}
	return code
}

// reportInstallError explains why install left a file alone.
func reportInstallError(w io.Writer, t ideconfig.Target, err error) {
	var fe *ideconfig.ForeignEntryError
	if errors.As(err, &fe) {
		fmt.Fprintf(w, "mcptray install: %v in %s.\n  Move it to mcptray with `mcptray import --from %s --replace`, or pass --force to overwrite it.\n", err, t.Path, t.Client)
		return
	}
	fmt.Fprintf(w, "mcptray install: %s: %v\n", t.Label(), err)
}

// reportChange prints what happened to one file.
func reportChange(w io.Writer, ch *ideconfig.Change, dryRun bool, done string) {
	t := ch.Target
	switch {
	case !ch.Changed():
		fmt.Fprintf(w, "%s: %s: nothing to change in %s\n", t.Label(), ch.Key, t.Path)
	case dryRun:
		fmt.Fprintf(w, "%s: would change %s:\n%s", t.Label(), t.Path, ch.Diff())
	default:
		bak := ""
		if ch.Existed {
			bak = fmt.Sprintf(" (the previous version is in %s.bak)", t.Path)
		}
		prep := map[string]string{ideconfig.ActionAdded: "to", ideconfig.ActionRemoved: "from"}[ch.Action]
		if prep == "" {
			prep = "in"
		}
		fmt.Fprintf(w, "%s: %s %s %s %s%s\n", t.Label(), ch.Action, ch.Key, prep, t.Path, bak)
		if done != "" && ch.Action != ideconfig.ActionRemoved {
			fmt.Fprintf(w, "  %s\n", done)
		}
	}
}

// Uninstall removes the bridge entry NAME from a client's config.
func Uninstall(ctx context.Context, env Env, args []string) int {
	fs := newFlags("uninstall", env)
	var f ideFlags
	f.register(fs, false)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || f.client == "" {
		fmt.Fprintf(env.Stderr, "usage: mcptray uninstall NAME --client %s [--dry-run]\n", strings.Join(ideconfig.ClientIDs(), "|"))
		return 2
	}
	targets, err := clientTargets(f.client)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray uninstall: %v\n", err)
		return 2
	}
	code := 0
	for _, t := range targets {
		ch, err := ideconfig.Uninstall(t, fs.Arg(0), ideconfig.Options{Force: f.force, DryRun: f.dryRun})
		if err != nil {
			var fe *ideconfig.ForeignEntryError
			if errors.As(err, &fe) {
				fmt.Fprintf(env.Stderr, "mcptray uninstall: %v in %s; pass --force to remove it anyway\n", err, t.Path)
			} else {
				fmt.Fprintf(env.Stderr, "mcptray uninstall: %s: %v\n", t.Label(), err)
			}
			code = 1
			continue
		}
		if ch.Action == ideconfig.ActionAbsent {
			fmt.Fprintf(env.Stdout, "%s: no server %q in %s\n", t.Label(), fs.Arg(0), t.Path)
			continue
		}
		reportChange(env.Stdout, ch, f.dryRun, "")
	}
	return code
}

// describeServer is a one-line summary without secrets: header names only.
func describeServer(sc config.Server) string {
	u := sc.URL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] + "?…"
	}
	parts := []string{u, "transport " + sc.Transport}
	if len(sc.Headers) > 0 {
		names := make([]string, 0, len(sc.Headers))
		for k := range sc.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		parts = append(parts, "headers "+strings.Join(names, ", "))
	}
	if sc.OAuth != nil && sc.OAuth.CallbackPort != 0 {
		parts = append(parts, fmt.Sprintf("callback port %d", sc.OAuth.CallbackPort))
	}
	if sc.Disabled {
		parts = append(parts, "disabled")
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
