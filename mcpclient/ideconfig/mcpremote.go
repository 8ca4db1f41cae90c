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
	headers := map[string]string{}
	var positional []string
	var ignored []string
	sc.Transport = config.TransportAuto
	oauth := &config.OAuth{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			positional = append(positional, a)
			continue
		}
		flag, val, hasEq := strings.Cut(a, "=")
		if remoteValueFlags[flag] && !hasEq {
			if i+1 >= len(args) {
				return sc, notes, skipf("mcp-remote option %s has no value", flag)
			}
			i++
			val = args[i]
		}
		switch {
		case flag == "--header":
			k, v, ok := strings.Cut(val, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return sc, notes, skipf("mcp-remote --header %q is not Name:Value", redactHeaderArg(val))
			}
			mv, n, err := mapEnvRefs(client, strings.TrimLeft(v, " \t"))
			if err != nil {
				return sc, notes, skipf("header %s: %v", k, err)
			}
			notes = append(notes, n...)
			for existing := range headers {
				if strings.EqualFold(existing, k) {
					return sc, notes, skipf("sets the header %s twice", k)
				}
			}
			headers[k] = mv
		case flag == "--header-file":
			return sc, notes, skipf("reads its headers from %s (--header-file); add them to mcptray by hand: mcptray add NAME URL --header 'Name: value'", val)
		case flag == "--transport":
			switch val {
			case "http-only":
				sc.Transport = config.TransportStreamable
			case "sse-only":
				sc.Transport = config.TransportSSE
			case "http-first", "sse-first":
				sc.Transport = config.TransportAuto
			default:
				return sc, notes, skipf("mcp-remote --transport %q is not http-only, sse-only, http-first or sse-first", val)
			}
		case flag == "--resource":
			oauth.Resource = val
		case flag == "--static-oauth-client-info":
			if strings.HasPrefix(val, "@") {
				notes = append(notes, fmt.Sprintf("the OAuth client is read from %s: copy client_id (and client_secret) into oauth.clientId by hand", val[1:]))
				break
			}
			var info struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
			if err := json.Unmarshal([]byte(val), &info); err != nil {
				return sc, notes, skipf("mcp-remote --static-oauth-client-info is not JSON: %v", err)
			}
			oauth.ClientID = info.ClientID
			if info.ClientSecret != "" {
				sec, n, err := mapEnvRefs(client, info.ClientSecret)
				if err != nil {
					return sc, notes, skipf("client_secret: %v", err)
				}
				notes = append(notes, n...)
				oauth.ClientSecret = sec
			}
		case flag == "--static-oauth-client-metadata":
			var md struct {
				Scope string `json:"scope"`
			}
			if !strings.HasPrefix(val, "@") && json.Unmarshal([]byte(val), &md) == nil && md.Scope != "" {
				oauth.Scopes = strings.Fields(md.Scope)
			} else {
				ignored = append(ignored, flag)
			}
		case flag == "--host":
			notes = append(notes, "--host "+val+" dropped: the mcptray hub takes OAuth callbacks on 127.0.0.1")
		case remoteQuietFlags[flag]:
		case remoteValueFlags[flag] || remoteBoolFlags[flag]:
			ignored = append(ignored, flag)
		default:
			ignored = append(ignored, flag+" (unknown)")
		}
	}
	if len(positional) == 0 {
		return sc, notes, skipf("runs mcp-remote without a server URL")
	}
	rawURL := positional[0]
	if pu, perr := url.Parse(rawURL); perr != nil || (pu.Scheme != "http" && pu.Scheme != "https" && !strings.HasPrefix(rawURL, "${")) {
		return sc, notes, skipf("runs mcp-remote with %q, which is not an http(s) URL", stripQuery(rawURL))
	}
	u, n, err := mapEnvRefs(client, rawURL)
	if err != nil {
		return sc, notes, skipf("url: %v", err)
	}
	notes = append(notes, n...)
	sc.URL = u
	if len(positional) > 1 {
		port, perr := strconv.Atoi(positional[1])
		if perr != nil || port <= 0 || port > 65535 {
			return sc, notes, skipf("mcp-remote callback port %q is not a port number", positional[1])
		}
		oauth.CallbackPort = port
		notes = append(notes, fmt.Sprintf("OAuth callback port %d kept (the server's registration may expect it)", port))
	}
	if len(positional) > 2 {
		ignored = append(ignored, fmt.Sprintf("extra arguments %q", positional[2:]))
	}
	if len(headers) > 0 {
		sc.Headers = headers
	}
	if oauth.ClientID != "" || oauth.ClientSecret != "" || oauth.Resource != "" || oauth.CallbackPort != 0 || len(oauth.Scopes) > 0 {
		sc.OAuth = oauth
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		notes = append(notes, "mcp-remote options without an mcptray equivalent, dropped: "+strings.Join(ignored, ", "))
	}
	return sc, notes, nil
}

// redactHeaderArg keeps a malformed --header's shape but not its content.
func redactHeaderArg(s string) string {
	if len(s) > 12 {
		return s[:6] + "…"
	}
	return s
}
