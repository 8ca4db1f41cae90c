package ideconfig

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Entries that reach a server through the hub's loopback HTTP endpoint
// (`mcptray install --http`) instead of launching the bridge: a url entry
// with the endpoint's token in an Authorization header. Each client spells
// a remote entry its own way; a client whose config file takes no url
// entry with headers has no style.

// httpStyle is how a client writes a url entry with headers.
type httpStyle struct {
	typ     string // the "type" field, "" for none
	urlKey  string // url, serverUrl, httpUrl
	headers string // headers, http_headers
}

var httpStyles = map[string]httpStyle{
	"vscode":      {typ: "http", urlKey: "url", headers: "headers"},
	"cursor":      {urlKey: "url", headers: "headers"},
	"claude-code": {typ: "http", urlKey: "url", headers: "headers"},
	"codex":       {urlKey: "url", headers: "http_headers"},
	"windsurf":    {urlKey: "serverUrl", headers: "headers"},
	"gemini-cli":  {urlKey: "httpUrl", headers: "headers"},
}

// NoHTTPError says a client's config cannot hold an HTTP entry.
type NoHTTPError struct {
	Target Target
	Reason string
}

func (e *NoHTTPError) Error() string {
	return fmt.Sprintf("%s cannot reach mcptray over HTTP: %s; install it without --http (the bridge works with every client)", e.Target.Label(), e.Reason)
}

// HTTPSupported reports whether t's client takes url entries with
// headers, and why not.
func HTTPSupported(t Target) error {
	if _, ok := httpStyles[t.Client]; ok {
		return nil
	}
	if t.Client == "claude-desktop" {
		return &NoHTTPError{Target: t, Reason: "Claude Desktop's config file only launches local commands (remote servers are added as connectors in its settings, which take no custom headers)"}
	}
	return &NoHTTPError{Target: t, Reason: "mcptray does not know how this file spells a remote server with headers"}
}

// httpFields is the url entry in t's style.
func httpFields(t Target, endpoint string, headers map[string]string) ([]field, error) {
	st, ok := httpStyles[t.Client]
	if !ok {
		return nil, HTTPSupported(t)
	}
	var f []field
	if st.typ != "" {
		f = append(f, field{"type", st.typ})
	}
	var h []field
	for _, k := range sortedKeys(headers) {
		h = append(h, field{k, headers[k]})
	}
	return append(f, field{st.urlKey, endpoint}, field{st.headers, h}), nil
}

// HTTPServer reports whether an entry reaches mcptray's loopback HTTP
// endpoint (http://127.0.0.1:PORT/mcp/NAME with an mcptray token), and
// for which server.
func HTTPServer(fields map[string]any) (server string, ok bool) {
	var raw string
	for _, k := range []string{"url", "serverUrl", "httpUrl"} {
		if s, isStr := fields[k].(string); isStr {
			raw = s
			break
		}
	}
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return "", false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); !(host == "localhost" || ip != nil && ip.IsLoopback()) {
		return "", false
	}
	name, ok := strings.CutPrefix(u.Path, "/mcp/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	for _, k := range []string{"headers", "http_headers"} {
		h, _ := fields[k].(map[string]any)
		for hk, hv := range h {
			s, _ := hv.(string)
			if strings.EqualFold(hk, "Authorization") && strings.HasPrefix(s, "Bearer mcptray_") {
				return name, true
			}
		}
	}
	return "", false
}

// MCPTrayServer reports whether an entry uses mcptray, either way (the
// bridge or the HTTP endpoint), and for which server.
func MCPTrayServer(fields map[string]any) (server string, ok bool) {
	if s, ok := BridgeServer(fields); ok {
		return s, true
	}
	return HTTPServer(fields)
}

// InstallHTTP makes the target's entry key reach endpoint with headers
// (the hub's URL for the server and its token). It replaces a bridge
// entry of that name, and a foreign one only with Force.
func InstallHTTP(t Target, key, endpoint string, headers map[string]string, o Options) (*Change, error) {
	want, err := httpFields(t, endpoint, headers)
	if err != nil {
		return nil, err
	}
	return apply(t, key, o, func(src []byte) ([]byte, string, error) {
		entries, err := parseEntries(t, src)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", t.Path, err)
		}
		var cur *Entry
		for i := range entries {
			if entries[i].Key == key {
				cur = &entries[i]
			}
		}
		action := ActionAdded
		switch {
		case cur == nil:
		case sameHTTPEntry(cur.Fields, want):
			return src, ActionUnchanged, nil
		case isBridgeEntry(cur.Fields):
			action = ActionUpdated
		case !o.Force:
			return nil, "", &ForeignEntryError{Target: t, Key: key, Summary: Describe(cur.Fields)}
		default:
			action = ActionReplaced
		}
		var out []byte
		if t.Format == TOML {
			out, err = tomlSetEntry(src, append(append([]string(nil), t.ServersKey...), key), want)
		} else {
			out, err = jsonSetMember(src, t.ServersKey, key, want)
		}
		return out, action, wrapPathErr(t, err)
	})
}

// sameHTTPEntry reports an entry that has exactly the wanted fields.
func sameHTTPEntry(have map[string]any, want []field) bool {
	if len(have) != len(want) {
		return false
	}
	for _, f := range want {
		switch v := f.Value.(type) {
		case string:
			if have[f.Key] != v {
				return false
			}
		case []field:
			h, _ := have[f.Key].(map[string]any)
			if len(h) != len(v) {
				return false
			}
			for _, x := range v {
				if h[x.Key] != x.Value {
					return false
				}
			}
		}
	}
	return true
}

func isHTTPEntry(fields map[string]any) bool {
	_, ok := HTTPServer(fields)
	return ok
}
