package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/httptoken"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// HTTPToken is `mcptray http-token [show | rotate]`: the token IDEs send
// to the hub's loopback HTTP endpoint.
func HTTPToken(ctx context.Context, env Env, args []string) int {
	fs := newFlags("http-token", env)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	op := "show"
	if fs.NArg() > 0 {
		op = fs.Arg(0)
	}
	home, err := paths.Home()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray http-token: %v\n", err)
		return 1
	}
	switch {
	case op == "show" && fs.NArg() <= 1:
		tok, err := httptoken.Load(home)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray http-token: %v\n", err)
			return 1
		}
		fmt.Fprintln(env.Stdout, tok)
		return 0
	case op == "rotate" && fs.NArg() == 1:
		tok, err := httptoken.Rotate(home)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mcptray http-token: %v\n", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "wrote a new token to %s; a running hub takes it within a second and refuses the old one\n", httptoken.Path(home))
		return reinstallHTTP(env, tok)
	}
	fmt.Fprintln(env.Stderr, "usage: mcptray http-token [show | rotate]")
	return 2
}

// reinstallHTTP gives every client entry that reaches the endpoint the new
// token, so that rotating does not break the IDEs mcptray installed.
func reinstallHTTP(env Env, tok string) int {
	code := 0
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
			if _, ok := ideconfig.HTTPServer(e.Fields); !ok {
				continue
			}
			endpoint := entryURL(e.Fields)
			ch, err := ideconfig.InstallHTTP(t, e.Key, endpoint, httpHeaders(tok), ideconfig.Options{})
			if err != nil {
				fmt.Fprintf(env.Stderr, "mcptray http-token: %s: %v\n", t.Label(), err)
				code = 1
				continue
			}
			reportChange(env.Stdout, ch, false, "")
		}
	}
	return code
}

func entryURL(fields map[string]any) string {
	for _, k := range []string{"url", "serverUrl", "httpUrl"} {
		if s, ok := fields[k].(string); ok {
			return s
		}
	}
	return ""
}

// httpHeaders are the headers an IDE sends to the endpoint.
func httpHeaders(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// endpointURL is server name's URL on the hub's endpoint, as cfg sets it.
func endpointURL(cfg *config.Config, name string) string {
	return "http://127.0.0.1:" + strconv.Itoa(cfg.HTTPPort()) + "/mcp/" + url.PathEscape(name)
}

// installHTTP writes url entries for Install --http.
func installHTTP(env Env, name string, targets []ideconfig.Target, f ideFlags) int {
	p, err := configPath(f.config)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 1
	}
	cfg, err := readConfig(p)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 1
	}
	if !cfg.HTTPEnabled() {
		fmt.Fprintf(env.Stderr, "note: the HTTP endpoint is off (http.enabled is false in %s); the entry works once it is on\n", p)
	}
	home, err := paths.Home()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 1
	}
	tok, err := httptoken.Load(home)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
		return 1
	}
	endpoint := endpointURL(cfg, name)
	code := 0
	for _, t := range targets {
		if err := ideconfig.HTTPSupported(t); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray install: %v\n", err)
			code = 1
			continue
		}
		ch, err := ideconfig.InstallHTTP(t, name, endpoint, httpHeaders(tok), ideconfig.Options{Force: f.force, DryRun: f.dryRun})
		if err != nil {
			reportInstallError(env.Stderr, t, err)
			code = 1
			continue
		}
		if f.dryRun {
			// The diff shows the token: print the file's change with it
			// hidden instead.
			fmt.Fprintf(env.Stdout, "%s: would set %s in %s to %s with the mcptray token header\n", t.Label(), name, t.Path, endpoint)
			continue
		}
		reportChange(env.Stdout, ch, false, fmt.Sprintf("%s now reaches %s (the hub must be running: `mcptray autostart on`); restart %s (or reload its MCP servers) to use it", name, endpoint, clientName(t)))
	}
	return code
}

// writeHTTPStatus is the endpoint's line of `mcptray status`.
func writeHTTPStatus(w io.Writer, st mcpclient.HTTPStatus) {
	switch {
	case st.URL != "":
		fmt.Fprintf(w, "http: %s/NAME (%d IDE%s attached over HTTP)\n", st.URL, st.Sessions, plural(st.Sessions))
	case st.Error != "":
		fmt.Fprintf(w, "http: not serving: %s\n", st.Error)
	case !st.Enabled:
		fmt.Fprintln(w, "http: off (http.enabled is false in the config)")
	}
}
