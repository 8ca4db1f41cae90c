package ideconfig

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

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

// convertRemote converts an entry that names a URL.
func convertRemote(client string, fields map[string]any) (sc config.Server, notes []string, err error) {
	rawURL, urlKey, err := remoteURL(fields)
	if err != nil {
		return sc, nil, err
	}
	u, n, err := mapEnvRefs(client, rawURL)
	if err != nil {
		return sc, nil, skipf("url: %v", err)
	}
	notes = append(notes, n...)
	sc.URL = u
	t, err := remoteTransport(client, urlKey, fields)
	sc.Transport = t
	if err != nil {
		return sc, notes, err
	}
	headers, err := remoteHeaders(client, fields, &notes)
	if err != nil {
		return sc, notes, err
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

// remoteURL finds the entry's URL and the key it is under.
func remoteURL(fields map[string]any) (rawURL, urlKey string, err error) {
	for _, k := range []string{"httpUrl", "serverUrl", "url"} {
		if v, ok := fields[k]; ok {
			s, ok := v.(string)
			if !ok {
				return "", "", skipf("%q must be a string", k)
			}
			if rawURL != "" && s != rawURL {
				return "", "", skipf("has both %q and %q with different URLs", urlKey, k)
			}
			rawURL, urlKey = s, k
		}
	}
	if strings.TrimSpace(rawURL) == "" {
		return "", "", skipf("has neither a command nor a url")
	}
	return rawURL, urlKey, nil
}

// remoteTransport is the entry's transport: an explicit type, else what the
// URL key means.
func remoteTransport(client, urlKey string, fields map[string]any) (string, error) {
	transport := config.TransportAuto
	switch urlKey {
	case "httpUrl":
		transport = config.TransportStreamable
	case "url":
		if client == "gemini-cli" {
			transport = config.TransportSSE // Gemini CLI: url is the SSE endpoint
		}
		if client == "codex" {
			transport = config.TransportStreamable // Codex speaks Streamable HTTP
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
			transport = config.TransportStreamable
		case "sse":
			transport = config.TransportSSE
		case "auto":
			transport = config.TransportAuto
		case "stdio":
			return transport, skipf("is a stdio entry (%s %q) with a url", k, s)
		default:
			return transport, skipf("%s %q is not http, sse or streamable-http", k, fmt.Sprint(v))
		}
	}
	return transport, nil
}

// remoteHeaders collects the entry's headers, in every spelling: headers,
// http_headers, env_http_headers, bearer_token_env_var and bearer_token.
// Notes of the variable references it rewrites go to notes.
func remoteHeaders(client string, fields map[string]any, notes *[]string) (map[string]string, error) {
	headers := map[string]string{}
	addHeader := func(k, v string) error {
		mv, n, err := mapEnvRefs(client, v)
		if err != nil {
			return skipf("header %s: %v", k, err)
		}
		*notes = append(*notes, n...)
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
			return nil, skipf("%q must be an object of strings", k)
		}
		for _, hk := range sortedKeys(m) {
			hv, ok := m[hk].(string)
			if !ok {
				return nil, skipf("header %s must be a string", hk)
			}
			if err := addHeader(hk, hv); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := fields["env_http_headers"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, skipf(`"env_http_headers" must be an object of variable names`)
		}
		for _, hk := range sortedKeys(m) {
			name, ok := m[hk].(string)
			if !ok || !envNameRE.MatchString(name) {
				return nil, skipf("env_http_headers.%s must name an environment variable", hk)
			}
			if err := addHeader(hk, "${env:"+name+"}"); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := fields["bearer_token_env_var"]; ok {
		name, ok := v.(string)
		if !ok || !envNameRE.MatchString(name) {
			return nil, skipf("bearer_token_env_var must name an environment variable")
		}
		if err := addHeader("Authorization", "Bearer ${env:"+name+"}"); err != nil {
			return nil, err
		}
	}
	if v, ok := fields["bearer_token"].(string); ok {
		if err := addHeader("Authorization", "Bearer "+v); err != nil {
			return nil, err
		}
	}
	return headers, nil
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
	sc, notes, err = convertMCPRemote(client, rargs)
	if err != nil {
		return sc, notes, err
	}
	// Variables the entry sets for mcp-remote (its "env") are not the
	// hub's: PlanImport moves them into the credential store.
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
