package ideconfig

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// ---- mcp-remote --------------------------------------------------------------

// mcp-remote's options (0.15.x) that take a value, and those that do not.
var (
	remoteValueFlags = map[string]bool{
		"--header": true, "--header-file": true, "--transport": true, "--host": true,
		"--callback-path": true, "--auth-success-url": true, "--static-oauth-client-metadata": true,
		"--static-oauth-client-info": true, "--client-metadata-url": true, "--token-endpoint": true,
		"--resource": true, "--authorize-param": true, "--ignore-tool": true, "--auth-timeout": true,
		"--connect-timeout": true, "--headers-timeout": true, "--body-timeout": true,
		"--ping-interval": true, "--protocol": true,
	}
	remoteBoolFlags = map[string]bool{
		"--allow-http": true, "--debug": true, "--silent": true, "--enable-proxy": true,
		"--keep-alive": true, "--ipv4": true, "--disable-cookies": true, "--device-code": true,
		"--client-credentials": true, "--use-id-token": true, "--disable-resource-parameter": true,
	}
	// Options whose effect mcptray has on its own, or that do not matter.
	remoteQuietFlags = map[string]bool{
		"--allow-http": true, "--debug": true, "--silent": true, "--enable-proxy": true,
		"--keep-alive": true, "--ping-interval": true, "--auth-timeout": true, "--connect-timeout": true,
		"--headers-timeout": true, "--body-timeout": true, "--protocol": true, "--disable-cookies": true,
	}
)

// mcpRemoteArgs finds an mcp-remote launch in command + args and returns
// mcp-remote's own arguments: npx/pnpx/bunx [opts] mcp-remote[@v] …,
// pnpm/yarn dlx, bun x, node …/mcp-remote/dist/proxy.js, mcp-remote
// itself, each possibly behind Windows' cmd /c.
func mcpRemoteArgs(command string, args []string) ([]string, bool) {
	base := strings.ToLower(command[strings.LastIndexAny(command, `/\`)+1:])
	for _, ext := range []string{".exe", ".cmd", ".bat", ".ps1"} {
		base = strings.TrimSuffix(base, ext)
	}
	switch base {
	case "cmd":
		if len(args) >= 2 && strings.EqualFold(args[0], "/c") {
			return mcpRemoteArgs(args[1], args[2:])
		}
		return nil, false
	case "mcp-remote":
		return args, true
	case "node":
		for i, a := range args {
			if strings.HasPrefix(a, "-") {
				continue
			}
			p := strings.ReplaceAll(a, `\`, "/")
			if strings.Contains(p, "/mcp-remote/") || strings.HasSuffix(p, "/mcp-remote") {
				return args[i+1:], true
			}
			return nil, false
		}
		return nil, false
	case "pnpm", "yarn":
		if len(args) > 0 && args[0] == "dlx" {
			return packageRunner(args[1:])
		}
		return nil, false
	case "bun":
		if len(args) > 0 && args[0] == "x" {
			return packageRunner(args[1:])
		}
		return nil, false
	case "npx", "pnpx", "bunx":
		return packageRunner(args)
	}
	return nil, false
}

// packageRunner skips a package runner's options and checks the package.
func packageRunner(args []string) ([]string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-p" || a == "--package":
			i++ // its value
		case strings.HasPrefix(a, "-"):
			// -y, --yes, -q, --prefer-offline, --package=…
		default:
			pkg := a
			if at := strings.LastIndex(pkg, "@"); at > 0 {
				pkg = pkg[:at]
			}
			if pkg == "mcp-remote" {
				return args[i+1:], true
			}
			return nil, false
		}
	}
	return nil, false
}

// convertMCPRemote reads mcp-remote's arguments the way mcp-remote does:
// --header pairs anywhere, then the server URL and an optional callback
// port, then options.
func convertMCPRemote(client string, args []string) (sc config.Server, notes []string, err error) {
	r := &mcpRemote{client: client, headers: map[string]string{}, oauth: &config.OAuth{}}
	r.sc.Transport = config.TransportAuto
	if err := r.parseArgs(args); err != nil {
		return r.sc, r.notes, err
	}
	if err := r.target(); err != nil {
		return r.sc, r.notes, err
	}
	r.finish()
	return r.sc, r.notes, nil
}

// mcpRemote is what convertMCPRemote gathers from mcp-remote's arguments.
type mcpRemote struct {
	client     string
	sc         config.Server
	notes      []string
	headers    map[string]string
	oauth      *config.OAuth
	positional []string
	ignored    []string
}

// parseArgs applies the options and collects the positional arguments.
func (r *mcpRemote) parseArgs(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			r.positional = append(r.positional, a)
			continue
		}
		flag, val, hasEq := strings.Cut(a, "=")
		if remoteValueFlags[flag] && !hasEq {
			if i+1 >= len(args) {
				return skipf("mcp-remote option %s has no value", flag)
			}
			i++
			val = args[i]
		}
		if err := r.option(flag, val); err != nil {
			return err
		}
	}
	return nil
}

// option applies one option and its value.
func (r *mcpRemote) option(flag, val string) error {
	switch {
	case flag == "--header":
		return r.header(val)
	case flag == "--header-file":
		return skipf("reads its headers from %s (--header-file); add them to mcptray by hand: mcptray add NAME URL --header 'Name: value'", val)
	case flag == "--transport":
		switch val {
		case "http-only":
			r.sc.Transport = config.TransportStreamable
		case "sse-only":
			r.sc.Transport = config.TransportSSE
		case "http-first", "sse-first":
			r.sc.Transport = config.TransportAuto
		default:
			return skipf("mcp-remote --transport %q is not http-only, sse-only, http-first or sse-first", val)
		}
	case flag == "--resource":
		r.oauth.Resource = val
	case flag == "--static-oauth-client-info":
		return r.clientInfo(val)
	case flag == "--static-oauth-client-metadata":
		var md struct {
			Scope string `json:"scope"`
		}
		if !strings.HasPrefix(val, "@") && json.Unmarshal([]byte(val), &md) == nil && md.Scope != "" {
			r.oauth.Scopes = strings.Fields(md.Scope)
		} else {
			r.ignored = append(r.ignored, flag)
		}
	case flag == "--host":
		r.notes = append(r.notes, "--host "+val+" dropped: the mcptray hub takes OAuth callbacks on 127.0.0.1")
	case remoteQuietFlags[flag]:
	case remoteValueFlags[flag] || remoteBoolFlags[flag]:
		r.ignored = append(r.ignored, flag)
	default:
		r.ignored = append(r.ignored, flag+" (unknown)")
	}
	return nil
}

// header applies --header "Name: value".
func (r *mcpRemote) header(val string) error {
	k, v, ok := strings.Cut(val, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return skipf("mcp-remote --header %q is not Name:Value", redactHeaderArg(val))
	}
	mv, n, err := mapEnvRefs(r.client, strings.TrimLeft(v, " \t"))
	if err != nil {
		return skipf("header %s: %v", k, err)
	}
	r.notes = append(r.notes, n...)
	for existing := range r.headers {
		if strings.EqualFold(existing, k) {
			return skipf("sets the header %s twice", k)
		}
	}
	r.headers[k] = mv
	return nil
}

// clientInfo applies --static-oauth-client-info: inline JSON, or @file,
// which is only noted.
func (r *mcpRemote) clientInfo(val string) error {
	if strings.HasPrefix(val, "@") {
		r.notes = append(r.notes, fmt.Sprintf("the OAuth client is read from %s: copy client_id (and client_secret) into oauth.clientId by hand", val[1:]))
		return nil
	}
	var info struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(val), &info); err != nil {
		return skipf("mcp-remote --static-oauth-client-info is not JSON: %v", err)
	}
	r.oauth.ClientID = info.ClientID
	if info.ClientSecret != "" {
		sec, n, err := mapEnvRefs(r.client, info.ClientSecret)
		if err != nil {
			return skipf("client_secret: %v", err)
		}
		r.notes = append(r.notes, n...)
		r.oauth.ClientSecret = sec
	}
	return nil
}

// target reads the positional arguments: the server URL and an optional
// OAuth callback port.
func (r *mcpRemote) target() error {
	if len(r.positional) == 0 {
		return skipf("runs mcp-remote without a server URL")
	}
	rawURL := r.positional[0]
	if pu, perr := url.Parse(rawURL); perr != nil || (pu.Scheme != "http" && pu.Scheme != "https" && !strings.HasPrefix(rawURL, "${")) {
		return skipf("runs mcp-remote with %q, which is not an http(s) URL", stripQuery(rawURL))
	}
	u, n, err := mapEnvRefs(r.client, rawURL)
	if err != nil {
		return skipf("url: %v", err)
	}
	r.notes = append(r.notes, n...)
	r.sc.URL = u
	if len(r.positional) > 1 {
		port, perr := strconv.Atoi(r.positional[1])
		if perr != nil || port <= 0 || port > 65535 {
			return skipf("mcp-remote callback port %q is not a port number", r.positional[1])
		}
		r.oauth.CallbackPort = port
		r.notes = append(r.notes, fmt.Sprintf("OAuth callback port %d kept (the server's registration may expect it)", port))
	}
	if len(r.positional) > 2 {
		r.ignored = append(r.ignored, fmt.Sprintf("extra arguments %q", r.positional[2:]))
	}
	return nil
}

// finish puts the headers and the OAuth settings into the server, and notes
// the options that were dropped.
func (r *mcpRemote) finish() {
	if len(r.headers) > 0 {
		r.sc.Headers = r.headers
	}
	oauth := r.oauth
	if oauth.ClientID != "" || oauth.ClientSecret != "" || oauth.Resource != "" || oauth.CallbackPort != 0 || len(oauth.Scopes) > 0 {
		r.sc.OAuth = oauth
	}
	if len(r.ignored) > 0 {
		sort.Strings(r.ignored)
		r.notes = append(r.notes, "mcp-remote options without an mcptray equivalent, dropped: "+strings.Join(r.ignored, ", "))
	}
}

// redactHeaderArg keeps a malformed --header's shape but not its content.
func redactHeaderArg(s string) string {
	if len(s) > 12 {
		return s[:6] + "…"
	}
	return s
}
