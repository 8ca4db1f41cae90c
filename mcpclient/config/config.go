// Package config owns mcptray's config file: its schema (Config, Server,
// OAuth, Limits, one list of keys: the structs' json tags and the parse
// tables beside them), loading, validation with errors that name the file,
// the server and the field, ${env:…} expansion, the secrets an entry holds,
// and edits that are serialized under a lock and keep hand edits. It
// imports auth/atomicfile, auth/flock and transport (for the transport
// names and ConfigError), nothing of the hub: ideconfig, doctor and the app
// read the config without linking the hub.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/auth/atomicfile"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// Config is the user's config file.
type Config struct {
	Servers         map[string]Server `json:"mcpServers"`
	CredentialStore string            `json:"credentialStore,omitempty"`
	CAFile          string            `json:"caFile,omitempty"`
	// ClientMetadataURL is the https URL where mcptray's OAuth client ID
	// metadata document is hosted (`mcptray client-metadata` prints it);
	// it is the client ID with authorization servers that support such
	// documents. A server's oauth.clientMetadataUrl overrides it.
	ClientMetadataURL string `json:"clientMetadataUrl,omitempty"`
	// HTTP is the hub's loopback MCP endpoint (http.go).
	HTTP *HTTP `json:"http,omitempty"`
	// Limits for every server; a server's own limits override them.
	Limits

	// Path is the file the config was read from.
	Path string `json:"-"`
}

// Server is one entry of mcpServers.
type Server struct {
	URL             string            `json:"url"`
	Transport       string            `json:"transport,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	OAuth           *OAuth            `json:"oauth,omitempty"`
	Disabled        bool              `json:"disabled,omitempty"`
	ProtocolVersion string            `json:"protocolVersion,omitempty"`
	// Limits override the config's top-level limits for this server.
	Limits
}

// Limits bound what one server may cost the hub. Zero means "the
// top-level value, else the default".
type Limits struct {
	// MaxMessageSize bounds one JSON-RPC message in bytes, from any side:
	// a JSON body, a whole SSE event, a line from an IDE.
	MaxMessageSize int64 `json:"maxMessageSize,omitempty"`
	// RequestTimeout bounds one request to the server, in seconds; the
	// IDE's own cancel can end it sooner.
	RequestTimeout int `json:"requestTimeout,omitempty"`
	// MaxInFlight bounds the requests in flight to the server at once;
	// the rest wait in a queue that is fair across IDEs.
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// SignInWait bounds, in seconds, how long a request that needs a
	// sign-in (no token, a failed refresh, a 401 after one, a 403
	// insufficient_scope) is held while the user signs in in the browser;
	// only then does it fail with the words that say how to sign in.
	SignInWait int `json:"signInWait,omitempty"`
}

// Defaults and bounds of Limits.
const (
	DefaultMaxMessageSize = 64 << 20
	DefaultRequestTimeout = 600 // seconds
	DefaultMaxInFlight    = 64
	DefaultSignInWait     = 120 // seconds

	minMaxMessageSize = 1 << 10
	maxMaxMessageSize = 1 << 30
	maxRequestTimeout = 24 * 3600
	maxMaxInFlight    = 4096
	maxSignInWait     = 3600
)

// parseLimit reads one Limits field; ok is false for keys that are not
// limits.
func parseLimit(l *Limits, k string, v json.RawMessage) (ok bool, err error) {
	var n int64
	switch k {
	case "maxMessageSize", "requestTimeout", "maxInFlight", "signInWait":
		if json.Unmarshal(v, &n) != nil {
			return true, fmt.Errorf("must be a whole number")
		}
	default:
		return false, nil
	}
	switch k {
	case "maxMessageSize":
		if n < minMaxMessageSize || n > maxMaxMessageSize {
			return true, fmt.Errorf("must be a size in bytes from %d (1 KiB) to %d (1 GiB); the default is %d (64 MiB)", minMaxMessageSize, maxMaxMessageSize, DefaultMaxMessageSize)
		}
		l.MaxMessageSize = n
	case "requestTimeout":
		if n < 1 || n > maxRequestTimeout {
			return true, fmt.Errorf("must be a number of seconds from 1 to %d; the default is %d", maxRequestTimeout, DefaultRequestTimeout)
		}
		l.RequestTimeout = int(n)
	case "maxInFlight":
		if n < 1 || n > maxMaxInFlight {
			return true, fmt.Errorf("must be from 1 to %d; the default is %d", maxMaxInFlight, DefaultMaxInFlight)
		}
		l.MaxInFlight = int(n)
	case "signInWait":
		if n < 1 || n > maxSignInWait {
			return true, fmt.Errorf("must be a number of seconds from 1 to %d; the default is %d", maxSignInWait, DefaultSignInWait)
		}
		l.SignInWait = int(n)
	}
	return true, nil
}

// EffectiveLimits is a server's limits with the top level and the
// defaults filled in.
func EffectiveLimits(server, top Limits) Limits {
	pick := func(vals ...int64) int64 {
		for _, v := range vals {
			if v > 0 {
				return v
			}
		}
		return 0
	}
	return Limits{
		MaxMessageSize: pick(server.MaxMessageSize, top.MaxMessageSize, DefaultMaxMessageSize),
		RequestTimeout: int(pick(int64(server.RequestTimeout), int64(top.RequestTimeout), DefaultRequestTimeout)),
		MaxInFlight:    int(pick(int64(server.MaxInFlight), int64(top.MaxInFlight), DefaultMaxInFlight)),
		SignInWait:     int(pick(int64(server.SignInWait), int64(top.SignInWait), DefaultSignInWait)),
	}
}

// OAuth is a server's OAuth settings.
type OAuth struct {
	ClientID     string   `json:"clientId,omitempty"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	CallbackPort int      `json:"callbackPort,omitempty"`
	Resource     string   `json:"resource,omitempty"`
	// ClientMetadataURL overrides the top-level clientMetadataUrl.
	ClientMetadataURL string `json:"clientMetadataUrl,omitempty"`
	// Flow is the sign-in flow: "auto" (or empty), "browser" or "device".
	Flow string `json:"flow,omitempty"`
}

// ClientMetadataURLFor is the client ID metadata document URL of a
// server: its own, else the top-level one.
func (c *Config) ClientMetadataURLFor(sc Server) string {
	if sc.OAuth != nil && sc.OAuth.ClientMetadataURL != "" {
		return sc.OAuth.ClientMetadataURL
	}
	return c.ClientMetadataURL
}

// CheckClientMetadataURL accepts an https URL with a path, as a client ID
// metadata document URL must be.
func CheckClientMetadataURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path == "" || u.Path == "/" || u.Fragment != "" {
		return fmt.Errorf("must be an https URL with a path (where the document from `mcptray client-metadata` is hosted), got %q", raw)
	}
	return nil
}

// FileError is a config problem, with the file, the server and the
// field it is about.
type FileError struct {
	Path   string
	Server string
	Field  string
	Msg    string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("config ")
	b.WriteString(e.Path)
	if e.Server != "" {
		fmt.Fprintf(&b, ": server %q", e.Server)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Protocol versions the hub speaks, newest first: the legacy ones, which
// open a session with initialize, and the modern ones (2026-07-28 and
// later: stateless, per-request _meta).
var (
	SupportedProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
	ModernProtocolVersions    = []string{"2026-07-28"}
)

// IsModernVersion reports a protocol version of the modern era (versions
// are dates, and any after 2026-07-28 is modern too).
func IsModernVersion(v string) bool { return v >= "2026-07-28" }

// AllProtocolVersions is every version the hub speaks, newest first.
func AllProtocolVersions() []string {
	return append(append([]string(nil), ModernProtocolVersions...), SupportedProtocolVersions...)
}

// Transport names, as in the config.
const (
	TransportAuto       = transport.Auto
	TransportStreamable = transport.Streamable
	TransportSSE        = transport.SSE
)

// DefaultProtocolVersion is the upstream handshake version.
const DefaultProtocolVersion = "2025-11-25"

var serverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// headerNameRE is an HTTP token (RFC 9110).
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// DefaultPath is where the config lives unless overridden: --config,
// then MCPTRAY_CONFIG, then the OS user config dir.
func DefaultPath() (string, error) {
	if p := os.Getenv("MCPTRAY_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user config dir (set MCPTRAY_CONFIG): %w", err)
	}
	return filepath.Join(dir, "mcptray", "config.json"), nil
}

// Load reads and validates the config file, creating it with an empty
// mcpServers when it does not exist.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		// Under the edit lock, and never over a file another process
		// created meanwhile (configedit.go).
		if b, err = createConfig(path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("config %s: cannot read it: %w", path, err)
	}
	return Parse(path, b)
}

// Parse validates config bytes; path is used in messages.
func Parse(path string, b []byte) (*Config, error) {
	cfg := &Config{Path: path, Servers: map[string]Server{}}
	ferr := func(server, field, format string, args ...any) error {
		return &FileError{Path: path, Server: server, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a BOM, as Notepad writes
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, ferr("", "", "not valid JSON: %s", jsonErrorWhere(b, err))
	}
	for k, v := range top {
		switch k {
		case "mcpServers":
			var servers map[string]json.RawMessage
			if err := json.Unmarshal(v, &servers); err != nil {
				return nil, ferr("", k, "must be an object of servers")
			}
			names := make([]string, 0, len(servers))
			for n := range servers {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				sc, err := parseServer(path, name, servers[name])
				if err != nil {
					return nil, err
				}
				cfg.Servers[name] = sc
			}
		case "credentialStore":
			if err := json.Unmarshal(v, &cfg.CredentialStore); err != nil {
				return nil, ferr("", k, "must be a string")
			}
			switch cfg.CredentialStore {
			case "", "auto", "keyring", "file":
			default:
				return nil, ferr("", k, "must be auto, keyring or file (got %q)", cfg.CredentialStore)
			}
		case "caFile":
			if err := json.Unmarshal(v, &cfg.CAFile); err != nil {
				return nil, ferr("", k, "must be a string")
			}
			if cfg.CAFile != "" {
				if _, err := LoadCAFile(cfg.CAFile); err != nil {
					return nil, ferr("", k, "%v", err)
				}
			}
		case "clientMetadataUrl":
			if err := json.Unmarshal(v, &cfg.ClientMetadataURL); err != nil {
				return nil, ferr("", k, "must be a string")
			}
			if cfg.ClientMetadataURL != "" {
				if err := CheckClientMetadataURL(cfg.ClientMetadataURL); err != nil {
					return nil, ferr("", k, "%v", err)
				}
			}
		case "http":
			h, err := parseHTTP(path, v)
			if err != nil {
				return nil, err
			}
			cfg.HTTP = h
		case "$schema":
		default:
			if ok, err := parseLimit(&cfg.Limits, k, v); ok {
				if err != nil {
					return nil, ferr("", k, "%v", err)
				}
				continue
			}
			return nil, ferr("", k, "unknown setting (known: %s)", known(topKeys))
		}
	}
	return cfg, nil
}

// parseServer reads and checks one entry of mcpServers.
func parseServer(path, name string, raw json.RawMessage) (Server, error) {
	p := &serverParser{path: path, name: name}
	if !serverNameRE.MatchString(name) {
		return p.sc, p.ferr("", "a server name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return p.sc, p.ferr("", "must be an object")
	}
	for k, v := range fields {
		if err := p.field(k, v); err != nil {
			return p.sc, err
		}
	}
	sc := p.sc
	if sc.URL == "" {
		return sc, p.ferr("url", "is required (the server's MCP endpoint, e.g. https://mcp.example.com/mcp)")
	}
	if err := checkURL(sc.URL); err != nil {
		return sc, p.ferr("url", "%v", err)
	}
	if sc.Transport == "" {
		sc.Transport = TransportAuto
	}
	return sc, nil
}

// serverParser reads the fields of one server entry into sc.
type serverParser struct {
	path, name string
	sc         Server
}

// ferr is an error in one field of the entry.
func (p *serverParser) ferr(field, format string, args ...any) error {
	return &FileError{Path: p.path, Server: p.name, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// str decodes a string field.
func (p *serverParser) str(k string, v json.RawMessage, dst *string) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return p.ferr(k, "must be a string")
	}
	return nil
}

// field reads one field of the entry.
func (p *serverParser) field(k string, v json.RawMessage) error {
	switch k {
	case "url":
		return p.str(k, v, &p.sc.URL)
	case "transport", "type":
		return p.transport(k, v)
	case "headers":
		return p.headers(k, v)
	case "oauth":
		var err error
		p.sc.OAuth, err = parseOAuth(p.path, p.name, v)
		return err
	case "disabled":
		if err := json.Unmarshal(v, &p.sc.Disabled); err != nil {
			return p.ferr(k, "must be true or false")
		}
		return nil
	case "protocolVersion":
		return p.protocolVersion(k, v)
	case "command", "args", "env", "cwd":
		return p.ferr(k, "mcptray connects to remote servers only (give a url); run stdio servers from your IDE directly")
	}
	ok, err := parseLimit(&p.sc.Limits, k, v)
	if !ok {
		return p.ferr(k, "unknown field (known: %s)", known(serverKeys))
	}
	if err != nil {
		return p.ferr(k, "%v", err)
	}
	return nil
}

// transport reads "transport" or its alias "type"; the two must agree.
func (p *serverParser) transport(k string, v json.RawMessage) error {
	var t string
	if err := p.str(k, v, &t); err != nil {
		return err
	}
	switch t {
	case "auto", "streamable-http", "sse":
	case "http", "streamableHttp", "streamable_http":
		t = TransportStreamable
	case "stdio":
		return p.ferr(k, "mcptray connects to remote servers only; run stdio servers from your IDE directly")
	default:
		return p.ferr(k, "must be auto, streamable-http or sse (got %q)", t)
	}
	if p.sc.Transport != "" && p.sc.Transport != t {
		return p.ferr(k, "contradicts the other transport setting")
	}
	p.sc.Transport = t
	return nil
}

// headers reads the headers: valid names, each once ignoring case, values
// without line breaks.
func (p *serverParser) headers(k string, v json.RawMessage) error {
	if err := json.Unmarshal(v, &p.sc.Headers); err != nil {
		return p.ferr(k, "must be an object of strings")
	}
	seen := map[string]string{}
	for h, hv := range p.sc.Headers {
		if prev, dup := seen[http.CanonicalHeaderKey(h)]; dup {
			return p.ferr(k+"."+h, "repeats header %q (header names ignore case)", prev)
		}
		seen[http.CanonicalHeaderKey(h)] = h
		if !headerNameRE.MatchString(h) {
			return p.ferr(k+"."+h, "is not a valid HTTP header name")
		}
		if strings.ContainsAny(hv, "\r\n") {
			return p.ferr(k+"."+h, "must not contain line breaks")
		}
		if err := checkSecretRefs(hv); err != nil {
			return p.ferr(k+"."+h, "%v", err)
		}
	}
	return nil
}

// protocolVersion reads a pinned protocol version, one of
// SupportedProtocolVersions.
func (p *serverParser) protocolVersion(k string, v json.RawMessage) error {
	if err := p.str(k, v, &p.sc.ProtocolVersion); err != nil {
		return err
	}
	for _, pv := range AllProtocolVersions() {
		if pv == p.sc.ProtocolVersion {
			return nil
		}
	}
	return p.ferr(k, "must be one of %s (got %q)", strings.Join(AllProtocolVersions(), ", "), p.sc.ProtocolVersion)
}

func parseOAuth(path, name string, raw json.RawMessage) (*OAuth, error) {
	ferr := func(field, format string, args ...any) error {
		return &FileError{Path: path, Server: name, Field: "oauth." + field, Msg: fmt.Sprintf(format, args...)}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, &FileError{Path: path, Server: name, Field: "oauth", Msg: "must be an object"}
	}
	o := &OAuth{}
	for k, v := range fields {
		var err error
		switch k {
		case "clientId":
			err = json.Unmarshal(v, &o.ClientID)
		case "clientSecret":
			err = json.Unmarshal(v, &o.ClientSecret)
		case "resource":
			err = json.Unmarshal(v, &o.Resource)
			if err == nil && o.Resource != "" {
				if u, perr := url.Parse(o.Resource); perr != nil || !u.IsAbs() {
					return nil, ferr(k, "must be an absolute URL")
				}
			}
		case "scopes":
			if err = json.Unmarshal(v, &o.Scopes); err != nil {
				return nil, ferr(k, "must be a list of strings")
			}
		case "callbackPort":
			if err = json.Unmarshal(v, &o.CallbackPort); err != nil || o.CallbackPort < 0 || o.CallbackPort > 65535 {
				return nil, ferr(k, "must be a port number from 0 (pick one) to 65535")
			}
		case "clientMetadataUrl":
			err = json.Unmarshal(v, &o.ClientMetadataURL)
			if err == nil && o.ClientMetadataURL != "" {
				if cerr := CheckClientMetadataURL(o.ClientMetadataURL); cerr != nil {
					return nil, ferr(k, "%v", cerr)
				}
			}
		case "flow":
			err = json.Unmarshal(v, &o.Flow)
			if err == nil {
				switch o.Flow {
				case "", "auto", "browser", "device":
				default:
					return nil, ferr(k, "must be auto, browser or device (got %q)", o.Flow)
				}
			}
		default:
			return nil, ferr(k, "unknown field (known: %s)", known(oauthKeys))
		}
		if err != nil {
			return nil, ferr(k, "must be a string")
		}
	}
	return o, nil
}

// checkURL accepts absolute http(s) URLs; ${env:VAR} and ${secret:NAME}
// references are checked after expansion, when connecting.
func checkURL(raw string) error {
	if err := checkSecretRefs(raw); err != nil {
		return err
	}
	if envRefRE.MatchString(raw) || secretRefRE.MatchString(raw) {
		return nil
	}
	return checkExpandedURL(raw)
}

// jsonErrorWhere renders a JSON decoding error with line and column.
func jsonErrorWhere(b []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err.Error()
	}
	line, col := 1, 1
	for i := int64(0); i < off-1 && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

// writeFileAtomic writes via a temp file and rename. For the config file,
// call it only under lockConfig: that is what makes its stale temp files
// safe to remove.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	return atomicfile.Write(path, b, perm)
}
