package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/httptoken"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// importTargets are the existing files of the clients named in a
// comma-separated --from value.
func importTargets(list string) ([]ideconfig.Target, error) {
	var out []ideconfig.Target
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		c, err := ideconfig.ClientByID(id)
		if err != nil {
			return nil, err
		}
		ts, err := c.ImportTargets(ideconfig.OSEnv())
		if err != nil {
			return nil, err
		}
		for i, t := range ts {
			// The main file is reported even when missing; the others
			// only when they exist.
			if _, err := os.Stat(t.Path); err == nil || i == 0 {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("name a client (%s)", strings.Join(ideconfig.ClientIDs(), ", "))
	}
	return out, nil
}

// Import turns the remote servers of client configs into mcptray servers.
func Import(ctx context.Context, env Env, args []string) int {
	fs := newFlags("import", env)
	from := fs.String("from", "", "read these clients' configs, comma-separated (default: every client whose config exists)")
	replace := fs.Bool("replace", false, "also rewrite each imported entry in the client to launch mcptray-bridge")
	viaHTTP := fs.Bool("http", false, "with --replace: point the entries at the hub's loopback HTTP endpoint (url and token) instead of the bridge, where the client's config can carry the token header")
	dryRun := fs.Bool("dry-run", false, "print what would change; write nothing")
	bridgeFlag := fs.String("bridge", "", "the mcptray-bridge for --replace (default: beside mcptray, else on PATH)")
	cfgFlag := fs.String("config", "", "mcptray config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && *from != "") {
		fmt.Fprintln(env.Stderr, "usage: mcptray import [--from CLIENT | FILE] [--replace [--http]] [--dry-run]")
		return 2
	}
	sources, code := importSources(env, fs.Args(), *from)
	if code != 0 {
		return code
	}
	cfgPath, err := configPath(*cfgFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
		return 1
	}
	cfg, err := readConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray import: %v\n  Fix the config first; import adds to it.\n", err)
		return 1
	}
	validate := func(name string, sc config.Server) error { return config.ValidateServer(cfgPath, name, sc) }
	items := ideconfig.PlanImport(sources, cfg.Servers, validate, os.LookupEnv)
	writeImportReport(env.Stdout, items)
	if code := storeImportedSecrets(ctx, env, cfg, items, *dryRun); code != 0 {
		return code
	}
	if code := addImported(env, cfgPath, cfg, items, *dryRun); code != 0 {
		return code
	}
	var hr *httpReplace
	if *viaHTTP {
		if !*replace {
			fmt.Fprintln(env.Stderr, "mcptray import: --http goes with --replace (it says what the client's entries become)")
			return 2
		}
		if hr, err = newHTTPReplace(env, cfg); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
			return 1
		}
	}
	return replaceImported(env, items, *replace, *dryRun, *bridgeFlag, hr)
}

// httpReplace is what import --replace --http writes: the endpoint's URL
// for each server and the token header.
type httpReplace struct {
	cfg *config.Config
	tok string
}

func newHTTPReplace(env Env, cfg *config.Config) (*httpReplace, error) {
	if !cfg.HTTPEnabled() {
		fmt.Fprintln(env.Stderr, "note: the HTTP endpoint is off (http.enabled is false in the config); the entries work once it is on")
	}
	home, err := paths.Home()
	if err != nil {
		return nil, err
	}
	tok, err := httptoken.Load(home)
	if err != nil {
		return nil, err
	}
	return &httpReplace{cfg: cfg, tok: tok}, nil
}

// replaceHTTP points one server list's imported entries at the endpoint.
func replaceHTTP(env Env, its []ideconfig.ImportItem, hr *httpReplace, dryRun bool, backedUp map[string]bool) int {
	code := 0
	for _, it := range its {
		t := it.Source
		endpoint := endpointURL(hr.cfg, it.Name)
		ch, err := ideconfig.InstallHTTP(t, it.Key, endpoint, httpHeaders(hr.tok),
			ideconfig.Options{Force: true, DryRun: dryRun, KeepBackup: backedUp[t.Path]})
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray import: %s: %v\n", t.Label(), err)
			code = 1
			continue
		}
		if ch.Written {
			backedUp[t.Path] = true
		}
		if dryRun {
			// The diff would show the token.
			if ch.Changed() {
				fmt.Fprintf(env.Stdout, "%s: would set %s in %s to %s with the mcptray token header\n", t.Label(), it.Key, t.Path, endpoint)
			}
			continue
		}
		reportChange(env.Stdout, ch, false, fmt.Sprintf("%s now reaches %s (the hub must be running: `mcptray autostart on`); restart %s to use it", it.Key, endpoint, clientName(t)))
	}
	return code
}

// importSources is what import reads: the file named on the command line,
// the clients of --from, or else every client config that exists. On
// failure it returns the exit code.
func importSources(env Env, files []string, from string) ([]ideconfig.Target, int) {
	switch {
	case len(files) == 1:
		t, err := ideconfig.FileTarget(files[0])
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
			return nil, 1
		}
		return []ideconfig.Target{t}, 0
	case from != "":
		ts, err := importTargets(from)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
			return nil, 2
		}
		return ts, 0
	}
	var sources []ideconfig.Target
	var looked []string
	for _, c := range ideconfig.Clients() {
		ts, err := c.ImportTargets(ideconfig.OSEnv())
		if err != nil {
			continue
		}
		for _, t := range ts {
			looked = append(looked, t.Path)
			if _, err := os.Stat(t.Path); err == nil {
				sources = append(sources, t)
			}
		}
	}
	if len(sources) == 0 {
		fmt.Fprintf(env.Stderr, "mcptray import: found no client config; looked at:\n  %s\n", strings.Join(looked, "\n  "))
		return nil, 1
	}
	return sources, 0
}

// addImported adds the new servers among items to the mcptray config, in one
// edit; with dryRun it prints the diff instead. On failure it returns the
// exit code.
func addImported(env Env, cfgPath string, cfg *config.Config, items []ideconfig.ImportItem, dryRun bool) int {
	added := map[string]config.Server{}
	for _, it := range items {
		if it.Status == ideconfig.ImportNew {
			added[it.Name] = *it.Server
		}
	}
	if len(added) == 0 {
		fmt.Fprintln(env.Stdout, "\nnothing new to add to the mcptray config")
		return 0
	}
	if dryRun {
		before, _ := config.Marshal(cfg)
		next := *cfg
		next.Servers = map[string]config.Server{}
		for k, v := range cfg.Servers {
			next.Servers[k] = v
		}
		for k, v := range added {
			next.Servers[k] = v
		}
		after, _ := config.Marshal(&next)
		fmt.Fprintf(env.Stdout, "\nwould change %s:\n%s", cfgPath, ideconfig.UnifiedDiff(cfgPath, cfgPath, before, after))
		return 0
	}
	err := config.Edit(cfgPath, func(c *config.Config) error {
		for k, v := range added {
			if _, ok := c.Servers[k]; ok {
				return fmt.Errorf("server %q appeared in %s meanwhile; run import again", k, cfgPath)
			}
			c.Servers[k] = v
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "\nadded %d server%s to %s\n", len(added), plural(len(added)), cfgPath)
	return 0
}

// importLists groups the imported and already present items by the server
// list they came from (a file may hold several: Claude Code's per-project
// lists), in the order first seen.
func importLists(items []ideconfig.ImportItem) (byList map[string][]ideconfig.ImportItem, lists []string) {
	byList = map[string][]ideconfig.ImportItem{}
	for _, it := range items {
		if it.Server == nil || (it.Status != ideconfig.ImportNew && it.Status != ideconfig.ImportPresent) {
			continue
		}
		list := it.Source.Path + "\x00" + strings.Join(it.Source.ServersKey, "\x00")
		if _, ok := byList[list]; !ok {
			lists = append(lists, list)
		}
		byList[list] = append(byList[list], it)
	}
	return byList, lists
}

// replaceImported points the client entries of the imported servers at the
// bridge, one edit per server list; without replace it only says how to. It
// returns the exit code.
func replaceImported(env Env, items []ideconfig.ImportItem, replace, dryRun bool, bridgeFlag string, hr *httpReplace) int {
	byFile, files := importLists(items)
	if !replace {
		if len(files) > 0 {
			fmt.Fprintln(env.Stdout, "The clients still connect on their own; add --replace to point their entries at mcptray-bridge.")
		}
		return 0
	}
	if len(files) == 0 {
		return 0
	}
	code := 0
	backedUp := map[string]bool{}
	bridge := ""
	for _, file := range files {
		its := byFile[file]
		if hr != nil {
			err := ideconfig.HTTPSupported(its[0].Source)
			if err == nil {
				code |= replaceHTTP(env, its, hr, dryRun, backedUp)
				continue
			}
			fmt.Fprintf(env.Stderr, "mcptray import: %v; its entries launch mcptray-bridge instead\n", err)
		}
		if bridge == "" {
			var err error
			if bridge, err = bridgePath(bridgeFlag); err != nil {
				fmt.Fprintf(env.Stderr, "mcptray import: %v\n", err)
				return 1
			}
		}
		var launches []ideconfig.Launch
		for _, it := range its {
			launches = append(launches, ideconfig.Launch{Key: it.Key, Args: []string{it.Name}})
		}
		path := its[0].Source.Path
		ch, err := ideconfig.InstallAll(its[0].Source, bridge, launches,
			ideconfig.Options{Force: true, DryRun: dryRun, KeepBackup: backedUp[path]})
		if err == nil && ch.Written {
			backedUp[path] = true
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray import: %s: %v\n", its[0].Source.Label(), err)
			code = 1
			continue
		}
		reportReplaced(env.Stdout, ch, dryRun)
	}
	return code
}

// reportReplaced says what replacing a server list's entries did, or would do.
func reportReplaced(w io.Writer, ch *ideconfig.Change, dryRun bool) {
	t := ch.Target
	switch {
	case !ch.Changed():
		fmt.Fprintf(w, "%s: its entries already launch mcptray-bridge\n", t.Label())
	case dryRun:
		fmt.Fprintf(w, "%s: would change %s:\n%s", t.Label(), t.Path, ch.Diff())
	default:
		keys := make([]string, 0, len(ch.Actions))
		for k := range ch.Actions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		verb, them := "launch", "them"
		if len(keys) == 1 {
			verb, them = "launches", "it"
		}
		fmt.Fprintf(w, "%s: %s now %s mcptray-bridge (the previous file is in %s.bak); restart %s to use %s\n",
			t.Label(), strings.Join(keys, ", "), verb, t.Path, clientName(t), them)
	}
}

func writeImportReport(w io.Writer, items []ideconfig.ImportItem) {
	last := ""
	for _, it := range items {
		if head := fmt.Sprintf("%s (%s):", it.Source.Label(), it.Source.Path); head != last {
			fmt.Fprintln(w, head)
			last = head
		}
		key := it.Key
		if key == "" {
			key = "(file)"
		}
		switch it.Status {
		case ideconfig.ImportNew:
			fmt.Fprintf(w, "  + %s: import as %s: %s\n", key, it.Name, describeServer(*it.Server))
		case ideconfig.ImportPresent:
			why := "already in mcptray"
			if it.Reason != "" {
				why = it.Reason
			}
			fmt.Fprintf(w, "  = %s: %s (%s)\n", key, why, it.Name)
		case ideconfig.ImportBridge:
			fmt.Fprintf(w, "  = %s: %s\n", key, it.Reason)
		default:
			fmt.Fprintf(w, "  - %s: skipped: %s\n", key, it.Reason)
		}
		for _, n := range it.Notes {
			fmt.Fprintf(w, "      note: %s\n", n)
		}
		for _, n := range it.Warnings {
			fmt.Fprintf(w, "      warning: %s\n", n)
		}
	}
}
