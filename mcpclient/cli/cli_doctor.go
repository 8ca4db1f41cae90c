package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient/doctor"
	"github.com/mcptray/mcptray/mcpclient/logfile"
)

// Doctor checks the setup and each server and says what to fix. It exits
// 1 when something is broken.
func Doctor(ctx context.Context, env Env, args []string) int {
	fs := newFlags("doctor", env)
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	cfgFlag := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of each network step")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray doctor [NAME] [--json]")
		return 2
	}
	path, err := configPath(*cfgFlag)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray doctor: %v\n", err)
		return 1
	}
	known := logfile.NewSecrets() // doctor adds the config's secrets, doctorAuth the stored ones
	da := &doctorAuth{known: known}
	rep := doctor.Run(ctx, doctor.Options{ConfigPath: path, Server: fs.Arg(0), Timeout: *timeout, Auth: da, Secrets: known, LookupSecret: da.lookupSecret})
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	} else {
		urls := map[string]string{}
		if cfg, err := readConfig(path); err == nil {
			for n, sc := range cfg.Servers {
				u := sc.URL
				if i := strings.IndexAny(u, "?#"); i >= 0 {
					u = u[:i] + "?…"
				}
				urls[n] = known.Scrub(u)
			}
		}
		rep.Write(env.Stdout, urls)
	}
	if rep.Broken() {
		return 1
	}
	return 0
}
