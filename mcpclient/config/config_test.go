package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/transport"
)

// testCAFile writes a freshly generated self-signed CA certificate as PEM
// and returns its path.
func testCAFile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mcptray test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// jsonStr renders s as a JSON string literal (for file paths in configs).
func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// oneServer wraps a server body in a config with one server named "s".
func oneServer(body string) string {
	return `{"mcpServers": {"s": ` + body + `}}`
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestParseConfigValid(t *testing.T) {
	caFile := testCAFile(t)
	const path = "/home/u/.config/mcptray/config.json"

	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "all fields",
			in: `{
  "$schema": "https://mcptray.example/config.schema.json",
  "mcpServers": {
    "jira": {
      "url": "https://mcp.atlassian.com/v1/sse",
      "transport": "sse",
      "headers": {"X-Team": "platform", "Authorization": "Bearer ${env:JIRA_TOKEN}"},
      "oauth": {
        "clientId": "cid",
        "clientSecret": "secret",
        "scopes": ["read", "write"],
        "callbackPort": 33418,
        "resource": "https://mcp.atlassian.com/"
      },
      "disabled": true,
      "protocolVersion": "2025-06-18"
    },
    "local": {"url": "http://127.0.0.1:8080/mcp"}
  },
  "credentialStore": "keyring",
  "caFile": ` + jsonStr(caFile) + `
}`,
			check: func(t *testing.T, c *Config) {
				if c.CredentialStore != "keyring" || c.CAFile != caFile {
					t.Errorf("credentialStore=%q caFile=%q", c.CredentialStore, c.CAFile)
				}
				if len(c.Servers) != 2 {
					t.Fatalf("servers = %v", c.Servers)
				}
				j := c.Servers["jira"]
				if j.URL != "https://mcp.atlassian.com/v1/sse" || j.Transport != TransportSSE || !j.Disabled || j.ProtocolVersion != "2025-06-18" {
					t.Errorf("jira = %+v", j)
				}
				if j.Headers["X-Team"] != "platform" || j.Headers["Authorization"] != "Bearer ${env:JIRA_TOKEN}" {
					t.Errorf("headers = %v (references must stay unexpanded in the config)", j.Headers)
				}
				want := OAuth{ClientID: "cid", ClientSecret: "secret", Scopes: []string{"read", "write"}, CallbackPort: 33418, Resource: "https://mcp.atlassian.com/"}
				if j.OAuth == nil || j.OAuth.ClientID != want.ClientID || j.OAuth.ClientSecret != want.ClientSecret ||
					!slices.Equal(j.OAuth.Scopes, want.Scopes) || j.OAuth.CallbackPort != want.CallbackPort || j.OAuth.Resource != want.Resource {
					t.Errorf("oauth = %+v, want %+v", j.OAuth, want)
				}
				l := c.Servers["local"]
				if l.Transport != TransportAuto || l.Disabled || l.OAuth != nil || l.Headers != nil {
					t.Errorf("local = %+v, want defaults", l)
				}
			},
		},
		{
			name: "type http is streamable-http",
			in:   oneServer(`{"url": "https://x.example/mcp", "type": "http"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportStreamable {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "type sse",
			in:   oneServer(`{"url": "https://x.example/sse", "type": "sse"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportSSE {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "transport streamableHttp alias",
			in:   oneServer(`{"url": "https://x.example/mcp", "transport": "streamableHttp"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportStreamable {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "transport streamable_http alias",
			in:   oneServer(`{"url": "https://x.example/mcp", "transport": "streamable_http"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportStreamable {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "type and transport agree",
			in:   oneServer(`{"url": "https://x.example/mcp", "type": "http", "transport": "streamable-http"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportStreamable {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "transport auto explicit",
			in:   oneServer(`{"url": "https://x.example/mcp", "transport": "auto"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].Transport; got != TransportAuto {
					t.Errorf("transport = %q", got)
				}
			},
		},
		{
			name: "schema key only",
			in:   `{"$schema": "https://example.com/s.json"}`,
			check: func(t *testing.T, c *Config) {
				if c.Servers == nil || len(c.Servers) != 0 {
					t.Errorf("servers = %#v, want empty non-nil", c.Servers)
				}
			},
		},
		{
			name: "empty file",
			in:   ``,
			check: func(t *testing.T, c *Config) {
				if c.Servers == nil || len(c.Servers) != 0 {
					t.Errorf("servers = %#v, want empty non-nil", c.Servers)
				}
			},
		},
		{
			name: "whitespace only file",
			in:   " \n\t\r\n",
			check: func(t *testing.T, c *Config) {
				if c.Servers == nil || len(c.Servers) != 0 {
					t.Errorf("servers = %#v, want empty non-nil", c.Servers)
				}
			},
		},
		{
			name: "empty object",
			in:   `{}`,
			check: func(t *testing.T, c *Config) {
				if c.Servers == nil || len(c.Servers) != 0 || c.CredentialStore != "" || c.CAFile != "" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "empty mcpServers",
			in:   `{"mcpServers": {}}`,
			check: func(t *testing.T, c *Config) {
				if c.Servers == nil || len(c.Servers) != 0 {
					t.Errorf("servers = %#v", c.Servers)
				}
			},
		},
		{
			name: "headers with env references",
			in:   oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": "${env:TEAM}", "X-Both": "${env:A}-${env:B}", "X-Empty": ""}}`),
			check: func(t *testing.T, c *Config) {
				h := c.Servers["s"].Headers
				if h["X-Team"] != "${env:TEAM}" || h["X-Both"] != "${env:A}-${env:B}" || h["X-Empty"] != "" || len(h) != 3 {
					t.Errorf("headers = %v", h)
				}
			},
		},
		{
			name: "url with env reference is checked later",
			in:   oneServer(`{"url": "https://${env:HOST}/mcp"}`),
			check: func(t *testing.T, c *Config) {
				if got := c.Servers["s"].URL; got != "https://${env:HOST}/mcp" {
					t.Errorf("url = %q", got)
				}
			},
		},
		{
			name: "oauth empty object",
			in:   oneServer(`{"url": "https://x.example/mcp", "oauth": {"clientId": "", "scopes": [], "callbackPort": 0}}`),
			check: func(t *testing.T, c *Config) {
				o := c.Servers["s"].OAuth
				if o == nil || o.ClientID != "" || len(o.Scopes) != 0 || o.CallbackPort != 0 {
					t.Errorf("oauth = %+v", o)
				}
			},
		},
		{
			name: "oauth callbackPort upper bound",
			in:   oneServer(`{"url": "https://x.example/mcp", "oauth": {"callbackPort": 65535}}`),
			check: func(t *testing.T, c *Config) {
				if o := c.Servers["s"].OAuth; o == nil || o.CallbackPort != 65535 {
					t.Errorf("oauth = %+v", o)
				}
			},
		},
		{
			name: "disabled false",
			in:   oneServer(`{"url": "https://x.example/mcp", "disabled": false}`),
			check: func(t *testing.T, c *Config) {
				if c.Servers["s"].Disabled {
					t.Error("disabled")
				}
			},
		},
		{
			name: "credentialStore auto",
			in:   `{"mcpServers": {}, "credentialStore": "auto"}`,
			check: func(t *testing.T, c *Config) {
				if c.CredentialStore != "auto" {
					t.Errorf("credentialStore = %q", c.CredentialStore)
				}
			},
		},
		{
			name: "credentialStore file",
			in:   `{"mcpServers": {}, "credentialStore": "file"}`,
			check: func(t *testing.T, c *Config) {
				if c.CredentialStore != "file" {
					t.Errorf("credentialStore = %q", c.CredentialStore)
				}
			},
		},
		{
			name: "empty caFile is no CA",
			in:   `{"mcpServers": {}, "caFile": ""}`,
			check: func(t *testing.T, c *Config) {
				if c.CAFile != "" {
					t.Errorf("caFile = %q", c.CAFile)
				}
			},
		},
		{
			name: "server name charset and length",
			in: `{"mcpServers": {
  "a": {"url": "https://x.example/"},
  "9lives": {"url": "https://x.example/"},
  "my.server_v2-prod": {"url": "https://x.example/"},
  "` + strings.Repeat("n", 64) + `": {"url": "https://x.example/"}
}}`,
			check: func(t *testing.T, c *Config) {
				for _, n := range []string{"a", "9lives", "my.server_v2-prod", strings.Repeat("n", 64)} {
					if _, ok := c.Servers[n]; !ok {
						t.Errorf("server %q missing", n)
					}
				}
			},
		},
		{
			name: "every protocol version",
			in: `{"mcpServers": {
  "a": {"url": "https://x.example/", "protocolVersion": "2025-11-25"},
  "b": {"url": "https://x.example/", "protocolVersion": "2025-06-18"},
  "c": {"url": "https://x.example/", "protocolVersion": "2025-03-26"},
  "d": {"url": "https://x.example/", "protocolVersion": "2024-11-05"}
}}`,
			check: func(t *testing.T, c *Config) {
				if len(c.Servers) != 4 || c.Servers["d"].ProtocolVersion != "2024-11-05" {
					t.Errorf("servers = %+v", c.Servers)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(path, []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Path != path {
				t.Errorf("Path = %q, want %q", c.Path, path)
			}
			tt.check(t, c)
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello, I am not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missingCA := filepath.Join(dir, "missing.pem")
	const path = "/etc/mcptray/config.json"

	tests := []struct {
		name   string
		in     string
		server string
		// fields lists the acceptable Field values; more than one only when
		// the outcome depends on JSON object key order.
		fields []string
		msg    string // substring of the message
	}{
		// Invalid JSON: the message says where.
		{
			name:   "invalid JSON double comma",
			in:     "{\n  \"mcpServers\": {\n    \"a\": {\"url\": \"https://x.example\"},,\n  }\n}\n",
			fields: []string{""},
			msg:    "line 3, column 39",
		},
		{
			name:   "invalid JSON truncated",
			in:     `{"mcpServers": {`,
			fields: []string{""},
			msg:    "line 1, column 16",
		},
		{
			name:   "invalid JSON bare word on line 2",
			in:     "{\n  mcpServers: {}\n}",
			fields: []string{""},
			msg:    "line 2, column 3",
		},
		{
			name:   "invalid JSON trailing garbage",
			in:     "{}\n\nxyz",
			fields: []string{""},
			msg:    "line 3, column 1",
		},
		{
			name:   "top-level array",
			in:     `[{"mcpServers": {}}]`,
			fields: []string{""},
			msg:    "line 1, column 1",
		},
		{
			name:   "top-level string",
			in:     `"mcpServers"`,
			fields: []string{""},
			msg:    "not valid JSON",
		},

		// Top level.
		{name: "unknown top-level key", in: `{"mcpServers": {}, "servers": {}}`, fields: []string{"servers"}, msg: "unknown setting"},
		{name: "misspelled mcpServers", in: `{"mcpservers": {}}`, fields: []string{"mcpservers"}, msg: "unknown setting"},
		{name: "mcpServers is a list", in: `{"mcpServers": [{"url": "https://x.example"}]}`, fields: []string{"mcpServers"}, msg: "object"},
		{name: "mcpServers is a string", in: `{"mcpServers": "https://x.example"}`, fields: []string{"mcpServers"}, msg: "object"},
		{name: "credentialStore unknown", in: `{"credentialStore": "vault"}`, fields: []string{"credentialStore"}, msg: `"vault"`},
		{name: "credentialStore not a string", in: `{"credentialStore": 1}`, fields: []string{"credentialStore"}, msg: "must be a string"},
		{name: "credentialStore wrong case", in: `{"credentialStore": "Keyring"}`, fields: []string{"credentialStore"}, msg: "auto, keyring or file"},
		{name: "caFile missing", in: `{"caFile": ` + jsonStr(missingCA) + `}`, fields: []string{"caFile"}, msg: "cannot read"},
		{name: "caFile not PEM", in: `{"caFile": ` + jsonStr(notPEM) + `}`, fields: []string{"caFile"}, msg: "no PEM certificate"},
		{name: "caFile is a directory", in: `{"caFile": ` + jsonStr(dir) + `}`, fields: []string{"caFile"}, msg: "cannot read"},
		{name: "caFile not a string", in: `{"caFile": true}`, fields: []string{"caFile"}, msg: "must be a string"},

		// Server entries.
		{name: "server not an object", in: oneServer(`"https://x.example/mcp"`), server: "s", fields: []string{""}, msg: "must be an object"},
		{name: "server is a list", in: oneServer(`[]`), server: "s", fields: []string{""}, msg: "must be an object"},
		{name: "unknown server field", in: oneServer(`{"url": "https://x.example/mcp", "timeout": 5}`), server: "s", fields: []string{"timeout"}, msg: "unknown field"},
		{name: "misspelled url field", in: oneServer(`{"URL": "https://x.example/mcp"}`), server: "s", fields: []string{"URL"}, msg: "unknown field"},
		{name: "bad transport", in: oneServer(`{"url": "https://x.example/mcp", "transport": "websocket"}`), server: "s", fields: []string{"transport"}, msg: `"websocket"`},
		{name: "bad type", in: oneServer(`{"url": "https://x.example/mcp", "type": "ws"}`), server: "s", fields: []string{"type"}, msg: `"ws"`},
		{name: "empty transport", in: oneServer(`{"url": "https://x.example/mcp", "transport": ""}`), server: "s", fields: []string{"transport"}, msg: "must be auto"},
		{name: "transport not a string", in: oneServer(`{"url": "https://x.example/mcp", "transport": 1}`), server: "s", fields: []string{"transport"}, msg: "must be a string"},
		{name: "type contradicts transport", in: oneServer(`{"url": "https://x.example/mcp", "type": "sse", "transport": "streamable-http"}`), server: "s", fields: []string{"type", "transport"}, msg: "contradicts"},
		{name: "type stdio", in: oneServer(`{"url": "https://x.example/mcp", "type": "stdio"}`), server: "s", fields: []string{"type"}, msg: "remote servers only"},
		{name: "transport stdio", in: oneServer(`{"transport": "stdio"}`), server: "s", fields: []string{"transport"}, msg: "remote servers only"},
		{name: "stdio command", in: oneServer(`{"command": "npx"}`), server: "s", fields: []string{"command"}, msg: "remote servers only"},
		{name: "stdio args", in: oneServer(`{"url": "https://x.example/mcp", "args": ["-y"]}`), server: "s", fields: []string{"args"}, msg: "remote servers only"},
		{name: "stdio env", in: oneServer(`{"url": "https://x.example/mcp", "env": {"A": "b"}}`), server: "s", fields: []string{"env"}, msg: "remote servers only"},
		{name: "stdio cwd", in: oneServer(`{"url": "https://x.example/mcp", "cwd": "/tmp"}`), server: "s", fields: []string{"cwd"}, msg: "remote servers only"},
		{name: "missing url", in: oneServer(`{"transport": "auto"}`), server: "s", fields: []string{"url"}, msg: "is required"},
		{name: "empty server object", in: oneServer(`{}`), server: "s", fields: []string{"url"}, msg: "is required"},
		{name: "empty url", in: oneServer(`{"url": ""}`), server: "s", fields: []string{"url"}, msg: "is required"},
		{name: "url null", in: oneServer(`{"url": null}`), server: "s", fields: []string{"url"}, msg: "is required"},
		{name: "url not a string", in: oneServer(`{"url": 443}`), server: "s", fields: []string{"url"}, msg: "must be a string"},
		{name: "ftp url", in: oneServer(`{"url": "ftp://x.example/mcp"}`), server: "s", fields: []string{"url"}, msg: "https://"},
		{name: "file url", in: oneServer(`{"url": "file:///etc/passwd"}`), server: "s", fields: []string{"url"}, msg: "https://"},
		{name: "ws url", in: oneServer(`{"url": "wss://x.example/mcp"}`), server: "s", fields: []string{"url"}, msg: "https://"},
		{name: "url without scheme", in: oneServer(`{"url": "mcp.example.com/mcp"}`), server: "s", fields: []string{"url"}, msg: "https://"},
		{name: "url without host", in: oneServer(`{"url": "https:///mcp"}`), server: "s", fields: []string{"url"}, msg: "no host"},
		{name: "url unparsable", in: oneServer(`{"url": "http://[::1/mcp"}`), server: "s", fields: []string{"url"}, msg: "not a valid URL"},
		{name: "url with shell-style variable", in: oneServer(`{"url": "${HOST}/mcp"}`), server: "s", fields: []string{"url"}, msg: "unexpanded variable"},
		{name: "url with invalid variable name", in: oneServer(`{"url": "https://${env:MCP-HOST}/mcp"}`), server: "s", fields: []string{"url"}, msg: "unexpanded variable"},
		{name: "header repeated in another case", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": "a", "x-team": "b"}}`), server: "s", fields: []string{"headers.X-Team", "headers.x-team"}, msg: "ignore case"},
		{name: "url with space in host", in: oneServer(`{"url": "https://exa mple.com/mcp"}`), server: "s", fields: []string{"url"}, msg: "not a valid URL"},
		{name: "header name with space", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X Team": "a"}}`), server: "s", fields: []string{"headers.X Team"}, msg: "header name"},
		{name: "header name with colon", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team:": "a"}}`), server: "s", fields: []string{"headers.X-Team:"}, msg: "header name"},
		{name: "header name empty", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"": "a"}}`), server: "s", fields: []string{"headers."}, msg: "header name"},
		{name: "header name non-ASCII", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Équipe": "a"}}`), server: "s", fields: []string{"headers.X-Équipe"}, msg: "header name"},
		{name: "header value with LF", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": "a\nInjected: 1"}}`), server: "s", fields: []string{"headers.X-Team"}, msg: "line breaks"},
		{name: "header value with CR", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": "a\r"}}`), server: "s", fields: []string{"headers.X-Team"}, msg: "line breaks"},
		{name: "header value not a string", in: oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": 1}}`), server: "s", fields: []string{"headers"}, msg: "object of strings"},
		{name: "headers is a list", in: oneServer(`{"url": "https://x.example/mcp", "headers": ["X-Team: a"]}`), server: "s", fields: []string{"headers"}, msg: "object of strings"},
		{name: "disabled not a bool", in: oneServer(`{"url": "https://x.example/mcp", "disabled": "yes"}`), server: "s", fields: []string{"disabled"}, msg: "true or false"},
		{name: "unsupported protocolVersion", in: oneServer(`{"url": "https://x.example/mcp", "protocolVersion": "2023-01-01"}`), server: "s", fields: []string{"protocolVersion"}, msg: `"2023-01-01"`},
		{name: "protocolVersion not a string", in: oneServer(`{"url": "https://x.example/mcp", "protocolVersion": 2025}`), server: "s", fields: []string{"protocolVersion"}, msg: "must be a string"},

		// OAuth.
		{name: "oauth not an object", in: oneServer(`{"url": "https://x.example/mcp", "oauth": true}`), server: "s", fields: []string{"oauth"}, msg: "must be an object"},
		{name: "oauth callbackPort negative", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"callbackPort": -1}}`), server: "s", fields: []string{"oauth.callbackPort"}, msg: "65535"},
		{name: "oauth callbackPort too big", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"callbackPort": 65536}}`), server: "s", fields: []string{"oauth.callbackPort"}, msg: "65535"},
		{name: "oauth callbackPort string", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"callbackPort": "8080"}}`), server: "s", fields: []string{"oauth.callbackPort"}, msg: "port number"},
		{name: "oauth callbackPort fraction", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"callbackPort": 80.5}}`), server: "s", fields: []string{"oauth.callbackPort"}, msg: "port number"},
		{name: "oauth scopes a string", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"scopes": "read write"}}`), server: "s", fields: []string{"oauth.scopes"}, msg: "list of strings"},
		{name: "oauth scopes numbers", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"scopes": [1, 2]}}`), server: "s", fields: []string{"oauth.scopes"}, msg: "list of strings"},
		{name: "oauth unknown key", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"redirectUri": "http://localhost/cb"}}`), server: "s", fields: []string{"oauth.redirectUri"}, msg: "unknown field"},
		{name: "oauth resource relative", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"resource": "/mcp"}}`), server: "s", fields: []string{"oauth.resource"}, msg: "absolute URL"},
		{name: "oauth resource without scheme", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"resource": "x.example/mcp"}}`), server: "s", fields: []string{"oauth.resource"}, msg: "absolute URL"},
		{name: "oauth resource not a string", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"resource": 1}}`), server: "s", fields: []string{"oauth.resource"}, msg: "must be a string"},
		{name: "oauth clientId not a string", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"clientId": 42}}`), server: "s", fields: []string{"oauth.clientId"}, msg: "must be a string"},
		{name: "oauth clientSecret not a string", in: oneServer(`{"url": "https://x.example/mcp", "oauth": {"clientSecret": {}}}`), server: "s", fields: []string{"oauth.clientSecret"}, msg: "must be a string"},

		// Server names.
		{name: "server name empty", in: `{"mcpServers": {"": {"url": "https://x.example/mcp"}}}`, server: "", fields: []string{""}, msg: "server name"},
		{name: "server name leading dash", in: `{"mcpServers": {"-x": {"url": "https://x.example/mcp"}}}`, server: "-x", fields: []string{""}, msg: "server name"},
		{name: "server name leading dot", in: `{"mcpServers": {".x": {"url": "https://x.example/mcp"}}}`, server: ".x", fields: []string{""}, msg: "server name"},
		{name: "server name with space", in: `{"mcpServers": {"my server": {"url": "https://x.example/mcp"}}}`, server: "my server", fields: []string{""}, msg: "server name"},
		{name: "server name with slash", in: `{"mcpServers": {"a/b": {"url": "https://x.example/mcp"}}}`, server: "a/b", fields: []string{""}, msg: "server name"},
		{name: "server name path traversal", in: `{"mcpServers": {"..": {"url": "https://x.example/mcp"}}}`, server: "..", fields: []string{""}, msg: "server name"},
		{name: "server name non-ASCII", in: `{"mcpServers": {"jïra": {"url": "https://x.example/mcp"}}}`, server: "jïra", fields: []string{""}, msg: "server name"},
		{name: "server name 65 chars", in: `{"mcpServers": {"` + strings.Repeat("n", 65) + `": {"url": "https://x.example/mcp"}}}`, server: strings.Repeat("n", 65), fields: []string{""}, msg: "server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(path, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			if c != nil {
				t.Errorf("config %+v returned along with the error", c)
			}
			var ce *FileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *FileError", err, err)
			}
			if ce.Path != path {
				t.Errorf("Path = %q, want %q", ce.Path, path)
			}
			if ce.Server != tt.server {
				t.Errorf("Server = %q, want %q", ce.Server, tt.server)
			}
			if !slices.Contains(tt.fields, ce.Field) {
				t.Errorf("Field = %q, want one of %q", ce.Field, tt.fields)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("message %q does not name the file", msg)
			}
			if tt.server != "" && !strings.Contains(msg, fmt.Sprintf("server %q", tt.server)) {
				t.Errorf("message %q does not name the server %q", msg, tt.server)
			}
			if ce.Field != "" && !strings.Contains(msg, fmt.Sprintf("field %q", ce.Field)) {
				t.Errorf("message %q does not name the field %q", msg, ce.Field)
			}
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
		})
	}
}

func TestConfigFileErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  FileError
		want string
	}{
		{"file only", FileError{Path: "/c.json", Msg: "boom"}, `config /c.json: boom`},
		{"field", FileError{Path: "/c.json", Field: "caFile", Msg: "boom"}, `config /c.json: field "caFile": boom`},
		{"server", FileError{Path: "/c.json", Server: "jira", Msg: "boom"}, `config /c.json: server "jira": boom`},
		{"server and field", FileError{Path: "/c.json", Server: "jira", Field: "oauth.scopes", Msg: "boom"}, `config /c.json: server "jira": field "oauth.scopes": boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadConfigCreatesMissingFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "nested", "mcptray")
	path := filepath.Join(dir, "config.json")

	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Path != path || c.Servers == nil || len(c.Servers) != 0 {
		t.Errorf("config = %+v, want an empty one at %s", c, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("file not created: %v", err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("file mode = %o, want 600", perm)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("dir mode = %o, want 700", perm)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("created file is not JSON: %v\n%s", err, b)
	}
	if s, ok := top["mcpServers"]; !ok || s == nil || len(s) != 0 || len(top) != 1 {
		t.Errorf("created file = %s, want only an empty mcpServers", b)
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"config.json", "config.json.lock"}) {
		t.Errorf("dir holds %q, want only config.json and its edit lock (no temp files)", names)
	}

	// A second load reads the file it created and leaves it alone.
	c2, err := Load(path)
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if len(c2.Servers) != 0 {
		t.Errorf("second load servers = %v", c2.Servers)
	}
	b2, _ := os.ReadFile(path)
	if string(b2) != string(b) {
		t.Errorf("file changed on reload: %q -> %q", b, b2)
	}
}

func TestLoadConfigExisting(t *testing.T) {
	dir := t.TempDir()

	t.Run("valid", func(t *testing.T) {
		path := filepath.Join(dir, "ok.json")
		in := `{"mcpServers": {"jira": {"url": "https://mcp.atlassian.com/v1/sse", "type": "sse"}}}`
		if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Path != path || c.Servers["jira"].Transport != TransportSSE {
			t.Errorf("config = %+v", c)
		}
		if b, _ := os.ReadFile(path); string(b) != in {
			t.Errorf("Load rewrote an existing file: %q", b)
		}
	})

	t.Run("invalid names the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(path, []byte(oneServer(`{"url": "gopher://x"}`)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		var ce *FileError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want *FileError", err)
		}
		if ce.Path != path || ce.Server != "s" || ce.Field != "url" {
			t.Errorf("err = %+v", ce)
		}
	})

	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(dir, "empty.json")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Servers == nil || len(c.Servers) != 0 {
			t.Errorf("servers = %#v", c.Servers)
		}
	})

	t.Run("unreadable", func(t *testing.T) {
		// A directory where the file should be cannot be read.
		path := filepath.Join(dir, "isdir.json")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Fatal("Load of a directory succeeded")
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	})

	t.Run("parent is a file", func(t *testing.T) {
		parent := filepath.Join(dir, "plainfile")
		if err := os.WriteFile(parent, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(parent, "sub", "config.json")
		_, err := Load(path)
		if err == nil {
			t.Fatal("Load under a plain file succeeded")
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	})
}

// envMap is a lookup function over a fixed map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestExpandEnv(t *testing.T) {
	env := envMap(map[string]string{
		"TEAM":   "platform",
		"HOST":   "mcp.example.com",
		"EMPTY":  "",
		"NESTED": "${env:TEAM}",
		"_X1":    "u",
	})
	tests := []struct {
		name    string
		in      string
		want    string
		missing string // non-empty: the error must name this variable
	}{
		{name: "no references", in: "https://x.example/mcp", want: "https://x.example/mcp"},
		{name: "empty", in: "", want: ""},
		{name: "whole value", in: "${env:TEAM}", want: "platform"},
		{name: "inside", in: "https://${env:HOST}/mcp", want: "https://mcp.example.com/mcp"},
		{name: "two adjacent", in: "${env:TEAM}${env:TEAM}", want: "platformplatform"},
		{name: "two apart", in: "Bearer ${env:TEAM}-${env:_X1}", want: "Bearer platform-u"},
		{name: "set but empty", in: "a${env:EMPTY}b", want: "ab"},
		{name: "not re-expanded", in: "${env:NESTED}", want: "${env:TEAM}"},
		{name: "shell syntax left alone", in: "$TEAM ${TEAM}", want: "$TEAM ${TEAM}"},
		{name: "empty name left alone", in: "${env:}", want: "${env:}"},
		{name: "invalid name left alone", in: "${env:1X} ${env:A-B}", want: "${env:1X} ${env:A-B}"},
		{name: "unclosed left alone", in: "${env:TEAM", want: "${env:TEAM"},
		{name: "unset", in: "Bearer ${env:TOKEN}", missing: "TOKEN"},
		{name: "first unset named", in: "${env:TEAM}${env:NOPE1}${env:NOPE2}", missing: "NOPE1"},
		{name: "case sensitive", in: "${env:team}", missing: "team"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandEnv(tt.in, env)
			if tt.missing != "" {
				if err == nil {
					t.Fatalf("expandEnv(%q) = %q, want an error naming %s", tt.in, got, tt.missing)
				}
				if !strings.Contains(err.Error(), tt.missing) {
					t.Errorf("error %q does not name %s", err, tt.missing)
				}
				if got != "" {
					t.Errorf("partial result %q returned with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("expandEnv(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestResolveExpandsURLAndHeaders(t *testing.T) {
	sc := Server{
		URL: "https://${env:HOST}/v1/${env:PATH_PART}",
		Headers: map[string]string{
			"X-Team":        "${env:TEAM}",
			"authorization": "Bearer ${env:TOKEN}",
			"X-Plain":       "plain",
		},
	}
	env := envMap(map[string]string{"HOST": "mcp.example.com:8443", "PATH_PART": "mcp", "TEAM": "platform", "TOKEN": "s3cr3t"})
	r, err := sc.Resolve(env)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if r.URL != "https://mcp.example.com:8443/v1/mcp" {
		t.Errorf("URL = %q", r.URL)
	}
	want := map[string]string{"X-Team": "platform", "Authorization": "Bearer s3cr3t", "X-Plain": "plain"}
	for k, v := range want {
		if got := r.Headers.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(r.Headers) != len(want) {
		t.Errorf("headers = %v", r.Headers)
	}
	// The config itself is left unexpanded.
	if sc.Headers["X-Team"] != "${env:TEAM}" || sc.URL != "https://${env:HOST}/v1/${env:PATH_PART}" {
		t.Errorf("resolve changed its Server: %+v", sc)
	}
}

func TestResolveNoHeaders(t *testing.T) {
	r, err := Server{URL: "http://127.0.0.1:3000/mcp"}.Resolve(envMap(nil))
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if r.URL != "http://127.0.0.1:3000/mcp" || r.Headers == nil || len(r.Headers) != 0 {
		t.Errorf("Resolved = %+v", r)
	}
}

func TestResolveErrors(t *testing.T) {
	env := envMap(map[string]string{
		"FTP":      "ftp://files.example.com/",
		"EMPTY":    "",
		"NEWLINE":  "a\r\nInjected: 1",
		"HOSTONLY": "mcp.example.com",
	})
	tests := []struct {
		name string
		sc   Server
		want []string // substrings of the message
	}{
		{
			name: "unset variable in url",
			sc:   Server{URL: "https://${env:MCP_HOST}/mcp"},
			want: []string{"MCP_HOST", "url"},
		},
		{
			name: "unset variable in header",
			sc:   Server{URL: "https://x.example/mcp", Headers: map[string]string{"Authorization": "Bearer ${env:JIRA_TOKEN}"}},
			want: []string{"JIRA_TOKEN", "Authorization"},
		},
		{
			name: "url expands to a non-http scheme",
			sc:   Server{URL: "${env:FTP}"},
			want: []string{"url", "https://", "ftp://files.example.com/"},
		},
		{
			name: "url expands to no scheme",
			sc:   Server{URL: "${env:HOSTONLY}/mcp"},
			want: []string{"url", "https://"},
		},
		{
			name: "url expands to no host",
			sc:   Server{URL: "https://${env:EMPTY}/mcp"},
			want: []string{"url", "no host"},
		},
		{
			name: "header expands to a line break",
			sc:   Server{URL: "https://x.example/mcp", Headers: map[string]string{"X-Team": "${env:NEWLINE}"}},
			want: []string{"X-Team", "line break"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.sc.Resolve(env)
			if err == nil {
				t.Fatalf("resolve accepted it: %+v", r)
			}
			var ce *transport.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *transport.ConfigError", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestResolveRejectsURLLeftUnexpanded is a regression test: resolve once
// reused the parse-time checkURL, which skipped every URL containing "${",
// so a "${HOST}" (shell syntax) or "${env:MCP-HOST}" (invalid name) was
// never checked and failed later as a retryable transport error instead of
// a *transport.ConfigError.
func TestResolveRejectsURLLeftUnexpanded(t *testing.T) {
	for _, raw := range []string{"${HOST}/mcp", "ftp://${MCP_HOST}/mcp", "https://${env:MCP-HOST}/mcp"} {
		r, err := Server{URL: raw}.Resolve(envMap(map[string]string{"HOST": "https://x.example"}))
		var ce *transport.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("resolve(%q) = %+v, %v; want a *transport.ConfigError about the url", raw, r, err)
		}
	}
}

// TestParseConfigRejectsDuplicateHeaderNames is a regression test: header
// names ignore case on the wire, and with {"X-Team": "a", "x-team": "b"}
// resolve used to pick a value in map order, differently from run to run.
func TestParseConfigRejectsDuplicateHeaderNames(t *testing.T) {
	_, err := Parse("/c.json", []byte(oneServer(`{"url": "https://x.example/mcp", "headers": {"X-Team": "a", "x-team": "b"}}`)))
	var ce *FileError
	if !errors.As(err, &ce) || ce.Server != "s" || !strings.HasPrefix(strings.ToLower(ce.Field), "headers.x-team") {
		t.Errorf("Parse = %v, want a *FileError for headers.x-team", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")

	if err := writeFileAtomic(path, []byte("one"), 0o600); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("content = %q", b)
	}
	if err := writeFileAtomic(path, []byte("two, longer"), 0o640); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two, longer" {
		t.Errorf("content = %q", b)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o640 {
			t.Errorf("mode = %o, want 640", perm)
		}
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"config.json"}) {
		t.Errorf("dir holds %q, want only config.json", names)
	}

	// A failed rename (the target is a non-empty directory) leaves no temp
	// file behind either.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(blocked, []byte("x"), 0o600); err == nil {
		t.Error("writeFileAtomic over a non-empty directory succeeded")
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"blocked", "config.json"}) {
		t.Errorf("dir holds %q after a failed write, want blocked and config.json", names)
	}

	// A missing folder is an error, not a panic or a stray file.
	if err := writeFileAtomic(filepath.Join(dir, "nope", "c.json"), []byte("x"), 0o600); err == nil {
		t.Error("writeFileAtomic into a missing folder succeeded")
	}
}

// TestClientMetadataURLAndFlow: clientMetadataUrl at the top level and
// per server (which wins), and oauth.flow, are read and checked.
func TestClientMetadataURLAndFlow(t *testing.T) {
	cfg, err := Parse("c.json", []byte(`{"clientMetadataUrl": "https://me.example/mcptray.json",
	  "mcpServers": {"a": {"url": "https://a.example/mcp"},
	                 "b": {"url": "https://b.example/mcp", "oauth": {"clientMetadataUrl": "https://me.example/b.json", "flow": "device"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ClientMetadataURLFor(cfg.Servers["a"]); got != "https://me.example/mcptray.json" {
		t.Errorf("a: %q", got)
	}
	if got := cfg.ClientMetadataURLFor(cfg.Servers["b"]); got != "https://me.example/b.json" {
		t.Errorf("b: %q", got)
	}
	if f := cfg.Servers["b"].OAuth.Flow; f != "device" {
		t.Errorf("flow %q", f)
	}
	for name, doc := range map[string]string{
		"http URL":   `{"clientMetadataUrl": "http://me.example/c.json", "mcpServers": {}}`,
		"no path":    `{"clientMetadataUrl": "https://me.example", "mcpServers": {}}`,
		"per server": `{"mcpServers": {"s": {"url": "https://x.example/mcp", "oauth": {"clientMetadataUrl": "nope"}}}}`,
		"bad flow":   `{"mcpServers": {"s": {"url": "https://x.example/mcp", "oauth": {"flow": "carrier-pigeon"}}}}`,
	} {
		if _, err := Parse("c.json", []byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
