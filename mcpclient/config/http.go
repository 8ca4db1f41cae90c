package config

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// HTTP configures the hub's loopback MCP endpoint: every server at
// http://127.0.0.1:PORT/mcp/NAME for IDEs that reach servers by URL.
type HTTP struct {
	// Enabled turns the endpoint off when false; absent means on.
	Enabled *bool `json:"enabled,omitempty"`
	// Port is the loopback port; 0 means DefaultHTTPPort.
	Port int `json:"port,omitempty"`
}

// DefaultHTTPPort is the endpoint's port unless http.port says otherwise.
// IDE configs written by `mcptray install --http` name it, so it must not
// change between runs (a port the OS picks would); it lies below every
// OS's ephemeral range (Linux 32768–60999, macOS and Windows 49152–65535),
// so no outgoing connection on this machine is ever given it, and it is
// not the default of a common development server.
const DefaultHTTPPort = 24817

var httpKeys = jsonKeys(reflect.TypeFor[HTTP]())

// HTTPEnabled reports whether the endpoint is on.
func (c *Config) HTTPEnabled() bool {
	return c.HTTP == nil || c.HTTP.Enabled == nil || *c.HTTP.Enabled
}

// HTTPPort is the endpoint's port.
func (c *Config) HTTPPort() int {
	if c.HTTP == nil || c.HTTP.Port == 0 {
		return DefaultHTTPPort
	}
	return c.HTTP.Port
}

func parseHTTP(path string, raw json.RawMessage) (*HTTP, error) {
	ferr := func(field, format string, args ...any) error {
		return &FileError{Path: path, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, ferr("http", "must be an object like {\"port\": %d, \"enabled\": true}", DefaultHTTPPort)
	}
	h := &HTTP{}
	for k, v := range m {
		switch k {
		case "enabled":
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return nil, ferr("http.enabled", "must be true or false")
			}
			h.Enabled = &b
		case "port":
			var n int64
			if json.Unmarshal(v, &n) != nil || n < 1024 || n > 65535 {
				return nil, ferr("http.port", "must be a port number from 1024 to 65535; the default is %d", DefaultHTTPPort)
			}
			h.Port = int(n)
		default:
			return nil, ferr("http."+k, "unknown setting (known: %s)", known(httpKeys))
		}
	}
	return h, nil
}
