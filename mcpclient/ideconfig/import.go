package ideconfig

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// Statuses of an ImportItem.
const (
	// ImportNew is a server mcptray does not have yet.
	ImportNew = "new"
	// ImportPresent is a server mcptray already has, with the same settings.
	ImportPresent = "present"
	// ImportBridge is an entry that already launches mcptray-bridge.
	ImportBridge = "bridge"
	// ImportSkipped is an entry that cannot be imported; Reason says why.
	ImportSkipped = "skipped"
)

// ImportItem is what import does with one client entry.
type ImportItem struct {
	Source Target
	// Key is the entry's name in the client file ("" for a file that
	// could not be read at all).
	Key string
	// Name is the mcptray server name (Key, made valid).
	Name   string
	Server *config.Server
	Status string
	Reason string
	Notes  []string
}

// PlanImport reads the sources and decides for each entry. existing holds
// the servers mcptray has; validate checks a converted server with the
// config's own rules (nil skips that).
func PlanImport(sources []Target, existing map[string]config.Server, validate func(name string, sc config.Server) error) []ImportItem {
	var items []ImportItem
	taken := map[string]config.Server{}
	for k, v := range existing {
		taken[k] = v
	}
	planned := map[string]bool{}
	for _, t := range sources {
		entries, err := ReadEntries(t)
		if err != nil {
			items = append(items, ImportItem{Source: t, Status: ImportSkipped, Reason: "cannot read it: " + err.Error()})
			continue
		}
		for _, e := range entries {
			it := ImportItem{Source: t, Key: e.Key}
			if name, ok := BridgeServer(e.Fields); ok {
				it.Status, it.Name = ImportBridge, name
				it.Reason = fmt.Sprintf("already launches mcptray-bridge %s", name)
				items = append(items, it)
				continue
			}
			sc, notes, err := Convert(t.Client, e.Fields)
			it.Notes = notes
			if err != nil {
				it.Status, it.Reason = ImportSkipped, err.Error()
				items = append(items, it)
				continue
			}
			name, renamed := SanitizeName(e.Key)
			it.Name = name
			if renamed {
				it.Notes = append(it.Notes, fmt.Sprintf("named %q in mcptray (%q is not a valid server name)", name, e.Key))
			}
			if validate != nil {
				if err := validate(name, sc); err != nil {
					it.Status, it.Reason = ImportSkipped, err.Error()
					items = append(items, it)
					continue
				}
			}
			if prev, ok := taken[name]; ok {
				if sameServer(prev, sc) {
					it.Status = ImportPresent
					it.Server = &sc
					if planned[name] {
						it.Reason = "the same server is imported from another entry"
					}
				} else {
					it.Status = ImportSkipped
					it.Reason = fmt.Sprintf("mcptray already has a different server %q (%s); remove or rename one of them", name, stripQuery(prev.URL))
				}
				items = append(items, it)
				continue
			}
			it.Status, it.Server = ImportNew, &sc
			taken[name] = sc
			planned[name] = true
			items = append(items, it)
		}
	}
	return items
}

// sameServer compares what matters of two server configs.
func sameServer(a, b config.Server) bool {
	norm := func(s config.Server) config.Server {
		if s.Transport == "" {
			s.Transport = config.TransportAuto
		}
		if len(s.Headers) == 0 {
			s.Headers = nil
		}
		return s
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

var nameBadRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SanitizeName makes key a valid mcptray server name: runs of other
// characters become '-', it starts with a letter or digit, at most 64
// characters. changed reports whether it differs from key.
func SanitizeName(key string) (name string, changed bool) {
	name = nameBadRE.ReplaceAllString(key, "-")
	name = strings.TrimLeft(name, "._-")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "._-")
	}
	if name == "" {
		name = "server"
	}
	return name, name != key
}

// SkipError is why an entry cannot become an mcptray server.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

func skipf(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

// Convert turns one client entry into an mcptray server: a remote entry
// (url/serverUrl/httpUrl with type http/sse/streamable-http, Codex's url
// with its header settings) or a command running mcp-remote. client is the
// source client's ID ("" for a file), which decides how a bare "url" is
// read (Gemini CLI means SSE by it). notes say what was dropped or needs
// the user's attention.
func Convert(client string, fields map[string]any) (sc config.Server, notes []string, err error) {
	if fields == nil {
		return sc, nil, skipf("the entry is not an object")
	}
	if _, ok := fields["command"]; ok {
		return convertCommand(client, fields)
	}
	return convertRemote(client, fields)
}

// benign keys clients put in entries that mcptray has no use for.
var benignKeys = map[string]bool{
	"type": true, "transport": true, "url": true, "serverUrl": true, "httpUrl": true,
	"headers": true, "http_headers": true, "env_http_headers": true, "bearer_token_env_var": true,
	"bearer_token": true, "disabled": true, "enabled": true, "oauth": true,
	"description": true, "timeout": true, "trust": true, "alwaysAllow": true, "autoApprove": true,
	"startup_timeout_sec": true, "startup_timeout_ms": true, "tool_timeout_sec": true,
	"enabled_tools": true, "disabled_tools": true, "includeTools": true, "excludeTools": true,
	"disabledTools": true, "gallery": true, "version": true, "name": true,
}

func convertRemote(client string, fields map[string]any) (sc config.Server, notes []string, err error) {
	var rawURL, urlKey string
	for _, k := range []string{"httpUrl", "serverUrl", "url"} {
		if v, ok := fields[k]; ok {
			s, ok := v.(string)
			if !ok {
				return sc, nil, skipf("%q must be a string", k)
			}
			if rawURL != "" && s != rawURL {
				return sc, nil, skipf("has both %q and %q with different URLs", urlKey, k)
			}
			rawURL, urlKey = s, k
		}
	}
	if strings.TrimSpace(rawURL) == "" {
		return sc, nil, skipf("has neither a command nor a url")
	}
	u, n, err := mapEnvRefs(client, rawURL)
	if err != nil {
		return sc, nil, skipf("url: %v", err)
	}
	notes = append(notes, n...)
	sc.URL = u

	// Transport: explicit type, else what the URL key means.
	sc.Transport = config.TransportAuto
	switch urlKey {
	case "httpUrl":
		sc.Transport = config.TransportStreamable
	case "url":
		if client == "gemini-cli" {
			sc.Transport = config.TransportSSE // Gemini CLI: url is the SSE endpoint
		}
		if client == "codex" {
			sc.Transport = config.TransportStreamable // Codex speaks Streamable HTTP
		}
	}
	for _, k := range []string{"type", "transport"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		s, _ := v.(string)
		switch strings.ToLower(s) {
		case "http", "streamable-http", "streamablehttp", "streamable_http", "streamable":
			sc.Transport = config.TransportStreamable
		case "sse":
			sc.Transport = config.TransportSSE
		case "auto":
			sc.Transport = config.TransportAuto
		case "stdio":
			return sc, notes, skipf("is a stdio entry (%s %q) with a url", k, s)
		default:
			return sc, notes, skipf("%s %q is not http, sse or streamable-http", k, fmt.Sprint(v))
		}
	}

	// Headers, in every spelling.
	headers := map[string]string{}
	addHeader := func(k, v string) error {
		mv, n, err := mapEnvRefs(client, v)
		if err != nil {
			return skipf("header %s: %v", k, err)
		}
		notes = append(notes, n...)
		for existing := range headers {
			if strings.EqualFold(existing, k) {
				return skipf("sets the header %s twice", k)
			}
		}
		headers[k] = mv
		return nil
	}
	for _, k := range []string{"headers", "http_headers"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return sc, notes, skipf("%q must be an object of strings", k)
		}
		for _, hk := range sortedKeys(m) {
			hv, ok := m[hk].(string)
			if !ok {
				return sc, notes, skipf("header %s must be a string", hk)
			}
			if err := addHeader(hk, hv); err != nil {
				return sc, notes, err
			}
		}
	}
	if v, ok := fields["env_http_headers"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return sc, notes, skipf(`"env_http_headers" must be an object of variable names`)
		}
		for _, hk := range sortedKeys(m) {
			name, ok := m[hk].(string)
			if !ok || !envNameRE.MatchString(name) {
				return sc, notes, skipf("env_http_headers.%s must name an environment variable", hk)
			}
			if err := addHeader(hk, "${env:"+name+"}"); err != nil {
				return sc, notes, err
			}
		}
	}
	if v, ok := fields["bearer_token_env_var"]; ok {
		name, ok := v.(string)
		if !ok || !envNameRE.MatchString(name) {
			return sc, notes, skipf("bearer_token_env_var must name an environment variable")
		}
		if err := addHeader("Authorization", "Bearer ${env:"+name+"}"); err != nil {
			return sc, notes, err
		}
	}
	if v, ok := fields["bearer_token"].(string); ok {
		if err := addHeader("Authorization", "Bearer "+v); err != nil {
			return sc, notes, err
		}
	}
	if len(headers) > 0 {
		sc.Headers = headers
	}

	if o, ok := fields["oauth"].(map[string]any); ok {
		sc.OAuth = convertOAuth(o, &notes)
	}
	if d, ok := fields["disabled"].(bool); ok && d {
		sc.Disabled = true
		notes = append(notes, "disabled in the client: imported disabled")
	}
	if e, ok := fields["enabled"].(bool); ok && !e {
		sc.Disabled = true
		notes = append(notes, "disabled in the client: imported disabled")
	}
	var ignored []string
	for _, k := range sortedKeys(fields) {
		if !benignKeys[k] {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		notes = append(notes, "ignored: "+strings.Join(ignored, ", "))
	}
	return sc, notes, nil
}

func convertOAuth(o map[string]any, notes *[]string) *config.OAuth {
	oc := &config.OAuth{}
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := o[k].(string); ok {
				return s
			}
		}
		return ""
	}
	oc.ClientID = str("clientId", "client_id")
	oc.ClientSecret = str("clientSecret", "client_secret")
	oc.Scopes = stringList(o["scopes"])
	if n, ok := toInt(o["callbackPort"]); ok {
		oc.CallbackPort = n
	}
	if oc.ClientID == "" && oc.ClientSecret == "" && len(oc.Scopes) == 0 && oc.CallbackPort == 0 {
		return nil
	}
	*notes = append(*notes, "oauth settings taken over")
	return oc
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(string(v))
		return n, err == nil
	case int64:
		return int(v), true
	case float64:
		return int(v), v == float64(int(v))
	}
	return 0, false
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// ${…} references of every client: ${env:VAR} (VS Code, Cursor,
	// Windsurf, mcptray), ${VAR} and ${VAR:-default} (Claude Code, shells),
	// ${input:id} and ${workspaceFolder} (VS Code).
	refRE = regexp.MustCompile(`\$\{([^}]*)\}`)
	// $VAR (Gemini CLI).
	bareRefRE = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// vscodeVars are VS Code's predefined variables, not environment variables.
var vscodeVars = map[string]bool{
	"workspaceFolder": true, "workspaceFolderBasename": true, "workspaceRoot": true, "userHome": true,
	"file": true, "fileBasename": true, "fileBasenameNoExtension": true, "fileDirname": true,
	"fileExtname": true, "fileWorkspaceFolder": true, "relativeFile": true, "relativeFileDirname": true,
	"cwd": true, "lineNumber": true, "selectedText": true, "execPath": true, "pathSeparator": true,
	"defaultBuildTask": true,
}

// mapEnvRefs rewrites a client's variable references to mcptray's
// ${env:VAR}. References mcptray cannot resolve are an error.
func mapEnvRefs(client, s string) (string, []string, error) {
	var notes []string
	var bad error
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[2 : len(m)-1]
		name := strings.TrimPrefix(inner, "env:")
		if i := strings.Index(name, ":-"); i >= 0 {
			notes = append(notes, fmt.Sprintf("the default value of ${%s} is dropped: set %s in the hub's environment", name[:i], name[:i]))
			name = name[:i]
		}
		if envNameRE.MatchString(name) && !vscodeVars[name] {
			return "${env:" + name + "}"
		}
		if strings.HasPrefix(inner, "input:") {
			bad = fmt.Errorf("uses %s, a value VS Code asks for when it starts the server; mcptray cannot ask: put the value in an environment variable and write ${env:NAME}", m)
		} else if bad == nil {
			bad = fmt.Errorf("uses %s, which mcptray cannot fill in", m)
		}
		return m
	})
	if bad != nil {
		return "", notes, bad
	}
	if client == "gemini-cli" {
		// Gemini CLI also expands $VAR; ${env:…} has no bare '$' left.
		out = replaceBareRefs(out)
	}
	return out, notes, nil
}

// replaceBareRefs turns $VAR into ${env:VAR}, leaving ${…} alone.
func replaceBareRefs(s string) string {
	var b strings.Builder
	for {
		loc := bareRefRE.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:loc[0]])
		b.WriteString("${env:" + s[loc[2]:loc[3]] + "}")
		s = s[loc[1]:]
	}
}

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

func convertCommand(client string, fields map[string]any) (sc config.Server, notes []string, err error) {
	command, ok := fields["command"].(string)
	if !ok || command == "" {
		return sc, nil, skipf(`"command" must be a non-empty string`)
	}
	var args []string
	if v, ok := fields["args"]; ok {
		if args = stringList(v); args == nil && !isEmptyList(v) {
			return sc, nil, skipf(`"args" must be a list of strings`)
		}
	}
	rargs, ok := mcpRemoteArgs(command, args)
	if !ok {
		return sc, nil, skipf("runs a local program (%s); mcptray serves remote servers only, so keep it in the client", Describe(fields))
	}
	env := map[string]string{}
	if m, ok := fields["env"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				env[k] = s
			}
		}
	}
	sc, notes, err = convertMCPRemote(client, rargs)
	if err != nil {
		return sc, notes, err
	}
	// Variables the entry sets for mcp-remote are not the hub's.
	var refs []string
	seen := map[string]bool{}
	collect := func(s string) {
		for _, m := range refRE.FindAllStringSubmatch(s, -1) {
			name := strings.TrimPrefix(m[1], "env:")
			if _, ok := env[name]; ok && !seen[name] {
				seen[name] = true
				refs = append(refs, name)
			}
		}
	}
	collect(sc.URL)
	for _, k := range sortedKeys(sc.Headers) {
		collect(sc.Headers[k])
	}
	for _, name := range refs {
		notes = append(notes, fmt.Sprintf("%s is set in the client entry's env; the hub reads ${env:%s} from its own environment: set it there", name, name))
	}
	if d, ok := fields["disabled"].(bool); ok && d {
		sc.Disabled = true
		notes = append(notes, "disabled in the client: imported disabled")
	}
	return sc, notes, nil
}

func isEmptyList(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) == 0
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
