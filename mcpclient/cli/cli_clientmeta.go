package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
)

// ClientMetadata prints mcptray's OAuth client ID metadata document, to
// host at the config's clientMetadataUrl (or --url): see
// docs/client-metadata.md.
func ClientMetadata(_ context.Context, env Env, args []string) int {
	fs := newFlags("client-metadata", env)
	docURL := fs.String("url", "", "the https URL the document will be hosted at (default: clientMetadataUrl from the config)")
	cfgFlag := fs.String("config", "", "config file (default: $MCPTRAY_CONFIG or the user config dir)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(env.Stderr, "usage: mcptray client-metadata [--url URL]")
		return 2
	}
	var ports []int
	path, err := configPath(*cfgFlag)
	var cfg *config.Config
	if err == nil {
		cfg, err = readConfig(path)
	}
	if err != nil && *docURL == "" {
		fmt.Fprintf(env.Stderr, "mcptray client-metadata: %v\n", err)
		return 1
	}
	if err == nil {
		for _, sc := range cfg.Servers {
			if sc.OAuth != nil && sc.OAuth.CallbackPort != 0 && !slices.Contains(ports, sc.OAuth.CallbackPort) {
				ports = append(ports, sc.OAuth.CallbackPort)
			}
		}
		slices.Sort(ports)
		if *docURL == "" {
			*docURL = cfg.ClientMetadataURL
		}
	}
	if *docURL == "" {
		fmt.Fprintln(env.Stderr, "mcptray client-metadata: say where the document will be hosted: --url https://…/mcptray.json, or clientMetadataUrl in the config")
		return 2
	}
	if err := config.CheckClientMetadataURL(*docURL); err != nil {
		fmt.Fprintf(env.Stderr, "mcptray client-metadata: the URL %v\n", err)
		return 2
	}
	b, _ := json.MarshalIndent(auth.NewClientMetadataDocument(*docURL, "", ports), "", "  ")
	fmt.Fprintln(env.Stdout, string(b))
	return 0
}
