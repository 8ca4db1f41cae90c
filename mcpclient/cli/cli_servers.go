package cli

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
)

// shellRefRE finds ${VAR} (not ${env:VAR}) in a value.
var shellRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// headerFlags collects repeated --header 'Name: value' flags.
type headerFlags map[string]string

func (h headerFlags) String() string { return fmt.Sprint(map[string]string(h)) }

func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want Name: value, got %q", v)
	}
	for existing := range h {
		if strings.EqualFold(existing, k) {
			return fmt.Errorf("header %s given twice", k)
		}
	}
	h[k] = strings.TrimSpace(val)
	return nil
}

// Add adds a server to the config.
func Add(ctx context.Context, env Env, args []string) int {
	fs := newFlags("add", env)
	headers := headerFlags{}
	fs.Var(headers, "header", "an HTTP header for every request, 'Name: value' (repeatable; ${env:VAR} expands)")
	transport := fs.String("transport", config.TransportAuto, "auto, streamable-http or sse")
	cfgFlag := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(env.Stderr, "usage: mcptray add NAME URL [--header 'Name: value']... [--transport auto|streamable-http|sse]")
		return 2
	}
	name, rawURL := fs.Arg(0), fs.Arg(1)
	path, err := configPath(*cfgFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray add: %v\n", err)
		return 1
	}
	sc := config.Server{URL: rawURL, Transport: *transport}
	if len(headers) > 0 {
		sc.Headers = headers
	}
	err = config.Edit(path, func(c *config.Config) error {
		if _, ok := c.Servers[name]; ok {
			return fmt.Errorf("%s already has a server %q: remove it first (mcptray remove %s) or pick another name", path, name, name)
		}
		c.Servers[name] = sc
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray add: %v\n", err)
		return 1
	}
	for k, v := range headers {
		if m := shellRefRE.FindStringSubmatch(v); m != nil {
			fmt.Fprintf(env.Stderr, "note: header %s has ${%s}, which is sent as is; mcptray expands ${env:%s}\n", k, m[1], m[1])
		}
	}
	fmt.Fprintf(env.Stdout, "added %s (%s) to %s; a running hub picks it up within a second.\n", name, describeServer(normalized(sc)), path)
	fmt.Fprintf(env.Stdout, "Point a client at it: mcptray install %s --client %s\n", name, strings.Join(ideconfig.ClientIDs(), "|"))
	return 0
}

func normalized(sc config.Server) config.Server {
	if sc.Transport == "" {
		sc.Transport = config.TransportAuto
	}
	return sc
}

// Remove deletes a server from the config.
func Remove(ctx context.Context, env Env, args []string) int {
	fs := newFlags("remove", env)
	cfgFlag := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray remove NAME")
		return 2
	}
	name := fs.Arg(0)
	path, err := configPath(*cfgFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray remove: %v\n", err)
		return 1
	}
	err = config.Edit(path, func(c *config.Config) error {
		if _, ok := c.Servers[name]; !ok {
			return fmt.Errorf("no server named %q in %s (see mcptray list)", name, path)
		}
		delete(c.Servers, name)
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "removed %s from %s\n", name, path)
	for _, t := range installedIn(name) {
		fmt.Fprintf(env.Stdout, "  %s still uses mcptray for %s (%s): mcptray uninstall %s --client %s\n", clientName(t), name, t.Path, name, t.Client)
	}
	return 0
}

// installedIn lists the clients whose config uses mcptray for name.
func installedIn(name string) []ideconfig.Target {
	var out []ideconfig.Target
	for _, c := range ideconfig.Clients() {
		t, err := c.Target(ideconfig.OSEnv())
		if err != nil {
			continue
		}
		entries, err := ideconfig.ReadEntries(t)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if s, ok := ideconfig.MCPTrayServer(e.Fields); ok && s == name {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// installations maps server name → client IDs that use it (its bridge or
// the HTTP endpoint).
func installations() map[string][]string {
	out := map[string][]string{}
	for _, c := range ideconfig.Clients() {
		t, err := c.Target(ideconfig.OSEnv())
		if err != nil {
			continue
		}
		entries, err := ideconfig.ReadEntries(t)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if s, ok := ideconfig.MCPTrayServer(e.Fields); ok && !seen[s] {
				seen[s] = true
				out[s] = append(out[s], c.ID)
			}
		}
	}
	return out
}

// List prints the configured servers, without header values.
func List(ctx context.Context, env Env, args []string) int {
	fs := newFlags("list", env)
	cfgFlag := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(env.Stderr, "usage: mcptray list")
		return 2
	}
	path, err := configPath(*cfgFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray list: %v\n", err)
		return 1
	}
	cfg, err := readConfig(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray list: %v\n", err)
		return 1
	}
	if len(cfg.Servers) == 0 {
		fmt.Fprintf(env.Stdout, "no servers in %s; add one with `mcptray add NAME URL` or `mcptray import`\n", path)
		return 0
	}
	inst := installations()
	names := make([]string, 0, len(cfg.Servers))
	for n := range cfg.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tURL\tTRANSPORT\tHEADERS\tCLIENTS")
	for _, n := range names {
		sc := cfg.Servers[n]
		u := sc.URL
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i] + "?…"
		}
		if sc.Disabled {
			n += " (disabled)"
		}
		hs := make([]string, 0, len(sc.Headers))
		for k := range sc.Headers {
			hs = append(hs, k)
		}
		sort.Strings(hs)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, u, sc.Transport, dash(strings.Join(hs, ",")), dash(strings.Join(inst[strings.TrimSuffix(n, " (disabled)")], ",")))
	}
	tw.Flush()
	return 0
}

var _ flag.Value = headerFlags{}
